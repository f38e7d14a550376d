/**
 * `--profile` profiles the peer as it profiles the gateway: `mcp-proxy` started with a profile folder writes
 * its CPU profile there as it exits, and that profile is of the proxy itself (its own frames are in it).
 * No timing is asserted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { frameOwner, type CpuProfile } from './cpu-profile.js';
import { runLoad } from './load.js';
import { profilesOf, startTarget } from './targets.js';

describe('bench targets', () => {
  it('mcp-proxy: started with a profile folder, writes its own CPU profile there', async () => {
    const profileDir = await mkdtemp(path.join(tmpdir(), 'bench-targets-prof-'));
    try {
      const target = await startTarget('mcp-proxy', { profileDir });
      try {
        const result = await runLoad({
          url: target.url,
          tool: target.tool,
          args: { text: 'profiled' },
          expectText: 'profiled',
          sessions: 1,
          warmupCalls: 0,
          callsPerSession: 3,
          maxSeconds: 30,
          driver: 'raw',
        });
        assert.equal(result.errors, 0, result.firstError);
      } finally {
        await target.close();
      }
      const files = await profilesOf(target);
      assert.equal(files.length, 1, 'one profile: the proxy, not the echo server behind it');
      assert.equal(path.dirname(files[0]!), path.join(profileDir, 'mcp-proxy'));
      const profile = JSON.parse(await readFile(files[0]!, 'utf8')) as CpuProfile;
      assert.ok((profile.samples ?? []).length > 0);
      assert.ok(profile.nodes.some((node) => frameOwner(node.callFrame) === 'mcp-proxy'));
    } finally {
      await rm(profileDir, { recursive: true, force: true });
    }
  });
});

/**
 * `--profile` profiles the peer as it profiles the gateway: `mcp-proxy` started with a profile folder writes
 * its CPU profile there as it exits, and that profile is of the proxy itself (its own frames are in it).
 * `--baseline-node-flags` and `--baseline-env` reach the baseline's process and no other. No timing is
 * asserted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventually } from '../../test/helpers/eventually.js';
import { nodeFlagsOf } from '../../test/fixtures/gateway-process.js';
import { parseAuditWriteCounters } from './audit-writes.js';
import { frameOwner, type CpuProfile } from './cpu-profile.js';
import { runLoad } from './load.js';
import { echoLoadOf, profilesOf, startTarget, type Target, type TargetName } from './targets.js';
import { parseConfig, warmUpAfterStart } from '../run.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A few calls through the target, each echoed back unchanged. */
async function assertEchoes(target: Target, text: string): Promise<void> {
  const result = await runLoad({
    ...echoLoadOf(target, text),
    sessions: 1,
    warmupCalls: 0,
    callsPerSession: 3,
    maxSeconds: 30,
    driver: 'raw',
  });
  assert.equal(result.errors, 0, result.firstError);
}

/** A target process' command line or environment, entry by entry (Linux /proc). */
async function procList(target: Target, file: 'cmdline' | 'environ'): Promise<string[]> {
  assert.ok(target.pid !== undefined, `${target.name} has no process id`);
  return (await readFile(`/proc/${target.pid}/${file}`, 'utf8')).split('\0').filter((entry) => entry !== '');
}

/**
 * A baseline target, started with a Node flag for the baseline: the flag reaches its process and it echoes
 * three calls. Its `/metrics` after them, for what its configuration shows.
 */
async function baselineServes(name: TargetName, text: string): Promise<string> {
  const target = await startTarget(name, { baselineDir: REPO_ROOT, baselineNodeFlags: ['--stack-size=2000'] });
  try {
    assert.ok((await procList(target, 'cmdline')).includes('--stack-size=2000'));
    await assertEchoes(target, text);
    assert.ok(target.metricsUrl !== undefined);
    return await (await fetch(target.metricsUrl)).text();
  } finally {
    await target.close();
  }
}

describe('bench targets', () => {
  it('portcullis-baseline: runs with the Node flags and environment given for it, the gateway without them', async () => {
    const options = {
      baselineDir: REPO_ROOT,
      baselineNodeFlags: ['--stack-size=2000'],
      baselineEnv: { PORTCULLIS_BENCH_PROBE: 'baseline' },
    };
    const baseline = await startTarget('portcullis-baseline', options);
    try {
      const gateway = await startTarget('portcullis', options);
      try {
        const baselineArgs = await procList(baseline, 'cmdline');
        const gatewayArgs = await procList(gateway, 'cmdline');
        assert.ok(baselineArgs.includes('--stack-size=2000'), baselineArgs.join(' '));
        assert.ok(!gatewayArgs.includes('--stack-size=2000'), gatewayArgs.join(' '));
        // After the flags on the command's first line, so that a flag given here wins over one there.
        const ownFlags = nodeFlagsOf(path.join(REPO_ROOT, 'bin', 'portcullis.js'));
        assert.ok(ownFlags.length > 0, 'the command names Node flags on its first line');
        const extraAt = baselineArgs.indexOf('--stack-size=2000');
        for (const flag of ownFlags) {
          const at = baselineArgs.indexOf(flag);
          assert.ok(at >= 0 && at < extraAt, `${flag} is there, before the baseline's own flag`);
        }
        const baselineEnv = await procList(baseline, 'environ');
        const gatewayEnv = await procList(gateway, 'environ');
        assert.ok(baselineEnv.includes('PORTCULLIS_BENCH_PROBE=baseline'));
        assert.ok(!gatewayEnv.some((entry) => entry.startsWith('PORTCULLIS_BENCH_PROBE=')));
        await assertEchoes(baseline, 'flagged');
      } finally {
        await gateway.close();
      }
    } finally {
      await baseline.close();
    }
  });

  it('portcullis-10k-rules-baseline: the baseline build with the 10,000-rule policy and the baseline flags', async () => {
    const metrics = await baselineServes('portcullis-10k-rules-baseline', 'large policy');
    // The large policy's condition rule decided the calls, beside the agent's baseline.
    assert.match(metrics, /portcullis_decisions_total\{effect="allow",rule="[^"]*bench-role-short-text[^"]*"\} 3/);
  });

  it('portcullis-noaudit-baseline: the baseline build without an audit file, with the baseline flags', async () => {
    const metrics = await baselineServes('portcullis-noaudit-baseline', 'no audit file');
    assert.match(metrics, /portcullis_decisions_total\{effect="allow",[^}]*\} 3/);
    // A gateway with an audit file counts its durable records; this one has none to count.
    assert.equal(parseAuditWriteCounters(metrics), undefined);
  });

  it('portcullis-redis: the gateway keeps its tasks in a Redis of its own, which stops with the target', async () => {
    const target = await startTarget('portcullis-redis');
    let redisUrl: string | undefined;
    try {
      redisUrl = target.redisUrl;
      assert.ok(redisUrl !== undefined && /^redis:\/\/127\.0\.0\.1:\d+$/.test(redisUrl), String(redisUrl));
      assert.notEqual(new URL(redisUrl).port, '6379', "never the machine's own Redis");
      await assertEchoes(target, 'redis');
      const redis = new Redis(redisUrl, { lazyConnect: true });
      try {
        await redis.connect();
        const [task] = await redis.keys('portcullis:task:*');
        assert.ok(task !== undefined, 'the session task is in Redis');
        // Read back once stored: a call whose task the edge read sends its count without waiting for it.
        const hash = task.replace(/:labels$/, '');
        await eventually(async () => (await redis.hget(hash, 'callCount')) === '3', 'three calls counted', 5_000);
        assert.equal(await redis.hget(hash, 'callCount'), '3');
      } finally {
        redis.disconnect();
      }
    } finally {
      await target.close();
    }
    const after = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    after.on('error', () => undefined);
    await assert.rejects(after.connect(), 'the Redis stopped with the target');
    after.disconnect();
  });

  it("portcullis-oauth: the agent presents an access token of the bench's identity provider, which the gateway checks", async () => {
    const target = await startTarget('portcullis-oauth');
    try {
      const bearer = (target.headers?.['Authorization'] ?? '').replace(/^Bearer /, '');
      const [header, payload, signature] = bearer.split('.');
      assert.ok(header && payload && signature, 'a signed JWT, not an API key');
      await assertEchoes(target, 'oauth');
      // The same token with its signature changed is refused before any call is made.
      const forged = `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      await assert.rejects(
        runLoad({
          ...echoLoadOf({ ...target, headers: { Authorization: `Bearer ${forged}` } }, 'forged'),
          sessions: 1,
          warmupCalls: 0,
          callsPerSession: 1,
          maxSeconds: 30,
          driver: 'raw',
        }),
        /HTTP 401/,
      );
    } finally {
      await target.close();
    }
  });

  it('a target serves the start-up warm-up in each era measured, and nothing with 0', async () => {
    const target = await startTarget('portcullis');
    try {
      assert.ok(target.metricsUrl !== undefined);
      const decided = async (): Promise<number> => {
        const metrics = await (await fetch(target.metricsUrl!)).text();
        let total = 0;
        for (const match of metrics.matchAll(/^portcullis_decisions_total\{effect="allow",[^}]*\} (\d+)$/gm))
          total += Number(match[1]);
        return total;
      };
      const lines: string[] = [];
      const config = parseConfig(['--startup-warmup', '7', '--mode', 'legacy,modern'], {});
      await warmUpAfterStart(target, config, 'warm', (line) => lines.push(line));
      assert.equal(await decided(), 14);
      assert.deepEqual(lines, [
        '[bench] warming up portcullis (7 calls, legacy)',
        '[bench] warming up portcullis (7 calls, modern)',
      ]);
      await warmUpAfterStart(target, parseConfig(['--startup-warmup', '0'], {}), 'warm', (line) => lines.push(line));
      assert.equal(await decided(), 14);
      assert.equal(lines.length, 2);
    } finally {
      await target.close();
    }
  });

  it('mcp-proxy: started with a profile folder, writes its own CPU profile there', async () => {
    const profileDir = await mkdtemp(path.join(tmpdir(), 'bench-targets-prof-'));
    try {
      const target = await startTarget('mcp-proxy', { profileDir });
      try {
        await assertEchoes(target, 'profiled');
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

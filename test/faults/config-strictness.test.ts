/**
 * Config strictness at start: an empty or missing configuration stops `portcullis start` with a clear
 * error and a non-zero exit, and nothing is left listening on the default port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { after, before, describe, it } from 'node:test';
import { cliArgs, startGatewayProcess } from '../fixtures/gateway-process.js';

const run = promisify(execFile);

async function start(configFile: string): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, cliArgs('start', '--config', configFile), { timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string; killed?: boolean };
    assert.notEqual(failed.killed, true, 'the gateway exited by itself');
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('configuration strictness at start', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an empty configuration file is an error, not a gateway on the default port', async () => {
    const file = path.join(dir, 'empty.yaml');
    await writeFile(file, '# to be written\n');
    const result = await start(file);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the configuration is empty/);
  });

  it('`policy validate --config` refuses rules naming agents, roles or tools the configuration lacks', async () => {
    const configFile = path.join(dir, 'portcullis.yaml');
    await writeFile(
      configFile,
      stringify({
        agents: [{ id: 'bot', roles: ['reader'], apiKeys: [{ sha256: '0'.repeat(64) }] }],
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: 'https://api.example.com',
            tools: [{ name: 'text', method: 'GET', path: '/text', inputSchema: { type: 'object' } }],
          },
        ],
      }),
    );
    const policyFile = path.join(dir, 'policy.yaml');
    const validate = async (rules: object[]): Promise<{ code: number; stderr: string }> => {
      await writeFile(policyFile, stringify({ version: 1, name: 'p', rules }));
      try {
        await run(process.execPath, cliArgs('policy', 'validate', policyFile, '--config', configFile));
        return { code: 0, stderr: '' };
      } catch (error) {
        const failed = error as { code: number; stderr: string };
        return { code: failed.code, stderr: failed.stderr };
      }
    };
    const clean = await validate([{ id: 'ok', effect: 'allow', tools: ['api_*'], principal: { agents: ['bot'] } }]);
    assert.equal(clean.code, 0, clean.stderr);
    const typos = await validate([
      { id: 'a', effect: 'allow', tools: ['api_text'], principal: { agents: ['bto'] } },
      { id: 'r', effect: 'deny', tools: ['api_text'], principal: { roles: ['writer'] } },
      { id: 't', effect: 'deny', tools: ['crm_get', 'api_txt'] },
    ]);
    assert.equal(typos.code, 1);
    assert.match(typos.stderr, /rule a: agent "bto" matches no configured agent/);
    assert.match(typos.stderr, /rule r: role "writer" matches no role of a configured agent/);
    assert.match(typos.stderr, /rule t: tool "crm_get" matches no tool of a configured connector/);
    assert.match(typos.stderr, /rule t: tool "api_txt" matches no tool of a configured connector/);
  });

  it('the gateway warns at start about rules naming things it does not have', async () => {
    const gw = await startGatewayProcess({
      config: async (gwDir) => {
        const policyFile = path.join(gwDir, 'policy.yaml');
        await writeFile(
          policyFile,
          stringify({
            version: 1,
            name: 'p',
            rules: [{ id: 'typo', effect: 'allow', tools: ['*'], principal: { agents: ['bto'] } }],
          }),
        );
        return {
          listen: { host: '127.0.0.1', port: 0 },
          policy: { files: [policyFile], watch: false },
          agents: [{ id: 'bot', apiKeys: [{ sha256: '0'.repeat(64) }] }],
        };
      },
    });
    try {
      assert.match(gw.stdout() + gw.stderr(), /"rule":"typo".*agent \\"bto\\" matches no configured agent/);
    } finally {
      await gw.close();
    }
  });

  it('a missing configuration file is an error', async () => {
    const result = await start(path.join(dir, 'missing.yaml'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read file \(ENOENT\)/);
  });
});

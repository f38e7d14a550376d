/**
 * Safe policy reload against a real gateway: a slow writer rewriting the policy file in place passes
 * through a valid prefix (its deny rule not yet written). That prefix must never be enforced: calls stay
 * denied and nothing reaches the backend. A file replaced by atomic rename is taken at once, and a bad
 * file keeps the last good policy while /readyz names the error.
 */
import assert from 'node:assert/strict';
import { open, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { stringify } from 'yaml';
import { digestApiKey } from '../../gateway/services/auth/index.js';
import { startHttpBackend, TEXT_TOOL } from '../fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { writePolicy } from '../helpers/policy.js';

const allowRule = { id: 'allow-text', effect: 'allow', tools: ['api_text'] };
const denyRule = { id: 'deny-text', effect: 'deny', tools: ['api_text'] };
const policyText = (rules: object[]): string => stringify({ version: 1, name: 'p', rules });
// /healthz shows the policy's version and last error to operators only.
const operatorToken = 'policy-reload-operator-token-0123456789';

describe('policy reload under a slow writer', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let agent: Client;
  let policyFile: string;

  before(async () => {
    backend = await startHttpBackend();
    policyFile = await writePolicy({ version: 1, name: 'p', rules: [allowRule, denyRule] });
    gw = await startTestGateway(
      {
        connectors: [
          {
            id: 'api',
            kind: 'http',
            baseUrl: backend.url,
            tools: [TEXT_TOOL],
          },
        ],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        policy: { files: [policyFile], watch: true, settleMs: 1000 },
        operators: [{ id: 'watcher', roles: ['viewer'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
      },
      [{ id: 'bot' }],
    );
    agent = await gw.connect('bot');
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  /** undefined when the call ran; otherwise how it was refused (a denied tool is hidden: TOOL_NOT_FOUND). */
  const code = async (): Promise<string | undefined> => {
    try {
      const result = await agent.callTool({ name: 'api_text', arguments: {} });
      return result.isError === true
        ? ((result._meta as Record<string, unknown>)['portcullis/code'] as string)
        : undefined;
    } catch (error) {
      if (/unknown tool/.test(String(error))) return 'TOOL_NOT_FOUND';
      throw error;
    }
  };
  const status = async (): Promise<{ version: string; lastError?: { message: string } }> => {
    const answer = await fetch(`${gw.gateway.baseUrl}/healthz`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const health = (await answer.json()) as {
      policy: { version: string; lastError?: { message: string } };
    };
    return health.policy;
  };
  const waitForVersionChange = async (from: string): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const { version } = await status();
      if (version !== from) return version;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('policy was not reloaded');
  };

  it('never enforces the half-written file, and takes the complete one once it has settled', async () => {
    assert.equal(await code(), 'TOOL_NOT_FOUND');
    const v1 = (await status()).version;

    // Rewrite in place: the allow rule first (a valid policy on its own), the deny rule 700 ms later.
    const full = policyText([allowRule, { ...denyRule, description: 'still denied' }]);
    const cut = full.indexOf('  - id: deny-text');
    const handle = await open(policyFile, 'w');
    const codes: (string | undefined)[] = [];
    const calls = (async () => {
      for (let i = 0; i < 20; i++) {
        codes.push(await code());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await handle.write(full.slice(0, cut));
    await handle.sync();
    await new Promise((resolve) => setTimeout(resolve, 700));
    await handle.write(full.slice(cut));
    await handle.close();
    await calls;

    assert.deepEqual(codes, Array(20).fill('TOOL_NOT_FOUND'), 'no call was allowed while the file was incomplete');
    assert.equal(backend.requests.length, 0, 'nothing reached the backend');
    const v2 = await waitForVersionChange(v1);
    assert.notEqual(v2, v1, 'the complete file was taken once it settled');
    assert.equal(await code(), 'TOOL_NOT_FOUND');
  });

  it('takes a file replaced by atomic rename, and keeps the last good policy on a bad one', async () => {
    const before = (await status()).version;
    const tmp = path.join(path.dirname(policyFile), '.policy.yaml.tmp');
    await writeFile(tmp, policyText([allowRule]));
    await rename(tmp, policyFile);
    const after = await waitForVersionChange(before);
    assert.equal(await code(), undefined, 'the renamed policy is enforced');
    assert.equal(backend.requests.length, 1);

    await writeFile(tmp, 'version: 1\nname: p\nrules:\n  - id: broken\n    effect: sometimes\n');
    await rename(tmp, policyFile);
    let lastError: string | undefined;
    for (let i = 0; i < 100 && lastError === undefined; i++) {
      lastError = (await status()).lastError?.message;
      if (lastError === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(lastError !== undefined, 'the failed reload is reported');
    assert.equal((await status()).version, after, 'the last good policy stays');
    const publicReady = await fetch(`${gw.gateway.baseUrl}/readyz`);
    assert.equal(publicReady.status, 200, 'a bad reload does not take the instance out of rotation');
    assert.deepEqual(await publicReady.json(), { status: 'ready' }, 'no details without an operator token');
    const ready = await fetch(`${gw.gateway.baseUrl}/readyz`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const body = (await ready.json()) as { details: { policy: { lastError?: string } } };
    assert.match(body.details.policy.lastError ?? '', /effect/, 'an operator sees the reload error');
    assert.equal(await code(), undefined, 'still the last good policy');
  });
});

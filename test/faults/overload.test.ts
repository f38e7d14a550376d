/**
 * Overload protection: a flood of slow calls on one connector fills its concurrency cap and its queue;
 * the excess is refused at once with OVERLOADED and never reaches the backend, while calls to another
 * connector keep succeeding during the flood. Outcomes are asserted, not timings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { verifyAuditLog } from '../../gateway/services/audit/index.js';
import { startHttpBackend } from '../fixtures/http-backend.js';
import { readAudit, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const tool = (name: string, routePath: string, withMs: boolean) => ({
  name,
  method: 'GET',
  path: routePath,
  ...(withMs ? { query: { ms: 'ms' } } : {}),
  inputSchema: {
    type: 'object',
    properties: withMs ? { ms: { type: 'integer' } } : {},
    additionalProperties: false,
  },
});

describe('a flood on one connector', () => {
  let flooded: Awaited<ReturnType<typeof startHttpBackend>>;
  let other: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let agent: Client;

  before(async () => {
    flooded = await startHttpBackend();
    other = await startHttpBackend();
    gw = await startTestGateway(
      {
        connectorLimits: { maxConcurrent: 4, maxQueued: 4 },
        connectors: [
          { id: 'slow', kind: 'http', baseUrl: flooded.url, tools: [tool('wait', '/slow', true)] },
          { id: 'fast', kind: 'http', baseUrl: other.url, tools: [tool('text', '/text', false)] },
        ],
        egress: { connectors: { slow: { allowPrivate: ['127.0.0.1/32'] }, fast: { allowPrivate: ['127.0.0.1/32'] } } },
        http: { responseMode: 'json' },
      },
      [{ id: 'bot', tools: ['slow_wait', 'fast_text'] }],
    );
    agent = await gw.connect('bot');
  });
  after(async () => {
    await gw?.close();
    await flooded?.close();
    await other?.close();
  });

  const codeOf = (result: { isError?: unknown; _meta?: unknown }): string | undefined =>
    result.isError === true ? ((result._meta as Record<string, unknown>)['portcullis/code'] as string) : undefined;

  it('refuses the excess with OVERLOADED and leaves the other connector unaffected', async () => {
    const flood = Array.from({ length: 30 }, () => agent.callTool({ name: 'slow_wait', arguments: { ms: 1500 } }));
    // While the flood holds every slot and queue place of `slow`, `fast` answers.
    while (flooded.requests.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    const during = await Promise.all(
      Array.from({ length: 5 }, () => agent.callTool({ name: 'fast_text', arguments: {} })),
    );
    const floodResults = await Promise.all(flood);

    assert.deepEqual(during.map(codeOf), Array(5).fill(undefined), 'the other connector is unaffected');
    const codes = floodResults.map(codeOf);
    assert.equal(codes.filter((c) => c === undefined).length, 8, 'cap + queue ran');
    assert.equal(codes.filter((c) => c === 'OVERLOADED').length, 22, 'the rest were refused');
    assert.equal(flooded.requests.length, 8, 'refused calls never reached the backend');
    assert.equal(other.requests.length, 5);

    const records = await readAudit(gw.auditFile);
    const overloaded = records.filter((r) => r['code'] === 'OVERLOADED');
    assert.equal(overloaded.length, 22);
    assert.equal(records.filter((r) => r['event'] === 'call.intent' && r['tool'] === 'slow_wait').length, 8);
    assert.equal((await verifyAuditLog(gw.auditFile)).ok, true);
  });
});

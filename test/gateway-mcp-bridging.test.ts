/**
 * A 2025-era agent (sessions, server-to-client requests) through the gateway to upstreams of both eras, with
 * calls in flight at the same time: each upstream question reaches the agent as a request on the stream of
 * the call that asked it, and each call gets its own answer back.
 *
 * - 2025 upstream over Streamable HTTP: its elicitation requests arrive on each call's response stream.
 * - 2026-07-28 upstream over Streamable HTTP: its `input_required` results become elicitation requests to
 *   the agent, and the gateway retries each call with that call's answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startModernUpstreamHttp, type ModernUpstreamHttp } from './fixtures/mcp-upstream-modern.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const textOf = (content: unknown): string =>
  (content as { type: string; text?: string }[]).map((block) => block.text ?? '').join('');

describe('gateway: per-call input requests with several calls in flight', () => {
  let legacy: UpstreamHttp;
  let modern: ModernUpstreamHttp;
  let gw: TestGateway;

  before(async () => {
    legacy = await startUpstreamHttp();
    modern = await startModernUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [
          { id: 'legacy', kind: 'mcp', transport: 'http', url: legacy.url },
          { id: 'modern', kind: 'mcp', transport: 'http', url: modern.url },
        ],
        egress: {
          connectors: {
            legacy: { allowPrivate: ['127.0.0.1/32'] },
            modern: { allowPrivate: ['127.0.0.1/32'] },
          },
        },
      },
      [{ id: 'agent', tools: ['legacy_*', 'modern_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await modern?.close();
  });

  /** A 2025 agent that answers each elicitation with a name derived from the question it was asked. */
  async function elicitingAgent(): Promise<{
    client: Awaited<ReturnType<TestGateway['connect']>>;
    asked: string[];
  }> {
    const client = await gw.connect('agent', { capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    let allAsked!: () => void;
    const fourAsked = new Promise<void>((resolve) => (allAsked = resolve));
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const message = String(request.params.message);
      asked.push(message);
      if (asked.length === 4) allAsked();
      // No answer until all four calls have asked: four questions are open at once, and then answered in
      // reverse order, so the answers cross on the wire.
      await fourAsked;
      await new Promise((resolve) => setTimeout(resolve, 10 * (4 - asked.indexOf(message))));
      return { action: 'accept', content: { name: `answer to ${message}` } };
    });
    return { client, asked };
  }

  it('4 concurrent calls to a 2025 upstream that each elicit get their own answers', async () => {
    const { client, asked } = await elicitingAgent();
    const questions = ['q1', 'q2', 'q3', 'q4'];
    const results = await Promise.all(
      questions.map((message) => client.callTool({ name: 'legacy_ask_user', arguments: { message } })),
    );
    results.forEach((result, i) => {
      assert.notEqual(result.isError, true, textOf(result.content));
      assert.deepEqual(JSON.parse(textOf(result.content)), {
        action: 'accept',
        content: { name: `answer to ${questions[i]}` },
      });
    });
    assert.deepEqual([...asked].sort(), questions);
  });

  it('4 concurrent calls to a 2026-07-28 upstream that each need input get their own answers', async () => {
    const { client, asked } = await elicitingAgent();
    const questions = ['m1', 'm2', 'm3', 'm4'];
    const results = await Promise.all(
      questions.map((question) => client.callTool({ name: 'modern_ask_user', arguments: { question } })),
    );
    results.forEach((result, i) => {
      assert.notEqual(result.isError, true, textOf(result.content));
      assert.deepEqual(JSON.parse(textOf(result.content)), {
        action: 'accept',
        content: { name: `answer to ${questions[i]}` },
        state: `asked:${questions[i]}`,
      });
    });
    assert.deepEqual([...asked].sort(), questions);
    // The upstream was spoken to in its own era, and retried once per call with the answers.
    const calls = modern.requests.filter((r) => r.method === 'tools/call');
    assert.equal(calls.length, 8);
    assert.ok(calls.every((r) => r.version === '2026-07-28'));
  });
});

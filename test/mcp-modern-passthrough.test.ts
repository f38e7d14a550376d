/**
 * A 2026-07-28 agent through the gateway to a 2026-07-28 upstream: the upstream's own `input_required`
 * rounds reach the agent as the upstream made them (its `inputRequests` keys), inside the gateway's sealed
 * state, and the retry is served by another gateway instance (same sealing key) with no call held anywhere.
 * Each retry is a call of its own through the pipeline (audited), the state is single-use and bound to the
 * principal and the call, and the upstream is asked only for what the agent declared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startModernUpstreamHttp, type ModernUpstreamHttp } from './fixtures/mcp-upstream-modern.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { modernPost } from './helpers/modern.js';

type Round = { resultType: string; inputRequests: Record<string, { method: string }>; requestState: string };

describe('MCP 2026-07-28 upstream input rounds passed through to a 2026-07-28 agent', () => {
  let upstream: ModernUpstreamHttp;
  let first: TestGateway;
  let second: TestGateway;
  const env = { SEALING_KEY: 'k'.repeat(48) };

  const startInstance = () =>
    startTestGateway(
      {
        connectors: [{ id: 'modern', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { modern: { allowPrivate: ['127.0.0.1/32'] } } },
        credentials: { stateSealingKey: 'env:SEALING_KEY' },
      },
      [
        { id: 'agent', tools: ['modern_*'] },
        { id: 'other', tools: ['modern_*'] },
      ],
      env,
    );

  before(async () => {
    upstream = await startModernUpstreamHttp();
    first = await startInstance();
    second = await startInstance();
  });
  after(async () => {
    await first?.close();
    await second?.close();
    await upstream?.close();
  });

  const call = (
    gw: TestGateway,
    params: Record<string, unknown>,
    capabilities: Record<string, unknown> = { elicitation: {}, sampling: {}, roots: {} },
    agent = 'agent',
  ) => modernPost(gw.gateway.mcpUrl, 'tools/call', params, { key: gw.agents[agent]!.key, capabilities });

  const ask = { name: 'modern_ask_user', arguments: { question: 'Who are you?' } };
  const asked = () => upstream.requests.filter((r) => r.method === 'tools/call').length;

  it("gives the agent the upstream's own keys, and another instance completes the retry", async () => {
    const round = (await call(first, ask)).body.result as Round;
    assert.equal(round.resultType, 'input_required');
    assert.deepEqual(Object.keys(round.inputRequests), ['name']);
    assert.equal(round.inputRequests['name']?.method, 'elicitation/create');
    assert.match(round.requestState, /^v1\./);
    const done = await call(second, {
      ...ask,
      inputResponses: { name: { action: 'accept', content: { name: 'Alice' } } },
      requestState: round.requestState,
    });
    assert.equal(done.body.result?.['isError'], undefined, JSON.stringify(done.body));
    const text = (done.body.result?.['content'] as { text: string }[])[0]!.text;
    // The upstream got the answer and its own requestState back, byte for byte.
    assert.deepEqual(JSON.parse(text), {
      action: 'accept',
      content: { name: 'Alice' },
      state: 'asked:Who are you?',
    });
    // Both exchanges are calls of their own on the instance that served them, each audited.
    const firstOutcomes = (await readAudit(first.auditFile)).filter((r) => r['tool'] === 'modern_ask_user');
    const secondOutcomes = (await readAudit(second.auditFile)).filter((r) => r['tool'] === 'modern_ask_user');
    assert.ok(firstOutcomes.some((r) => JSON.stringify(r).includes('INPUT_REQUIRED')));
    assert.ok(secondOutcomes.length > 0);
  });

  it('carries every round of a multi-round call, each under a new state', async () => {
    const params = { name: 'modern_ask_model_then_roots', arguments: {} };
    const one = (await call(first, params)).body.result as Round;
    assert.deepEqual(
      Object.values(one.inputRequests).map((r) => r.method),
      ['sampling/createMessage'],
    );
    const [samplingKey] = Object.keys(one.inputRequests);
    const two = (
      await call(second, {
        ...params,
        inputResponses: {
          [samplingKey!]: { role: 'assistant', content: { type: 'text', text: 'blue' }, model: 'm' },
        },
        requestState: one.requestState,
      })
    ).body.result as Round;
    assert.equal(two.resultType, 'input_required', JSON.stringify(two));
    assert.notEqual(two.requestState, one.requestState);
    const [rootsKey] = Object.keys(two.inputRequests);
    const done = await call(first, {
      ...params,
      inputResponses: { [rootsKey!]: { roots: [{ uri: 'file:///work' }] } },
      requestState: two.requestState,
    });
    assert.match(JSON.stringify(done.body.result?.['content']), /blue\|file:\/\/\/work/);
  });

  it('refuses a replayed, tampered or foreign state before the upstream sees the retry', async () => {
    const round = (await call(first, ask)).body.result as Round;
    const answer = { name: { action: 'accept', content: { name: 'Mallory' } } };
    const [prefix, body, mac] = round.requestState.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as { u: { s: string } };
    payload.u.s = 'asked:something else';
    const tampered = `${prefix}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${mac}`;
    const before = asked();
    const cases = [
      { gw: first, params: { ...ask, requestState: tampered }, agent: 'agent', code: 'STATE_INVALID' },
      { gw: second, params: { ...ask, requestState: round.requestState }, agent: 'other', code: 'STATE_MISMATCH' },
      {
        gw: second,
        params: { ...ask, arguments: { question: 'Another?' }, requestState: round.requestState },
        agent: 'agent',
        code: 'STATE_MISMATCH',
      },
    ];
    for (const c of cases) {
      const refused = await call(c.gw, { ...c.params, inputResponses: answer }, undefined, c.agent);
      assert.equal(refused.body.error?.data?.['code'], c.code, JSON.stringify(refused.body));
    }
    assert.equal(asked(), before, 'no refused retry reached the upstream');
    // The sound state works once, on either instance; the same state again is refused.
    const retry = { ...ask, inputResponses: answer, requestState: round.requestState };
    assert.match(JSON.stringify((await call(second, retry)).body.result), /Mallory/);
    const replay = await call(second, retry);
    assert.equal(replay.body.error?.data?.['code'], 'STATE_REUSED', JSON.stringify(replay.body));
    assert.equal(asked(), before + 1);
  });

  it('tells the upstream only the capabilities the agent declared', async () => {
    const before = asked();
    const result = await call(first, ask, { sampling: { tools: {} } });
    const sent = upstream.requests.filter((r) => r.method === 'tools/call').at(-1);
    assert.equal(asked(), before + 1);
    assert.deepEqual(sent?.capabilities, { sampling: { tools: {} } });
    // The fixture's server refuses to ask by elicitation, which the envelope now says the agent cannot
    // answer: the call fails, and no round reaches the agent.
    assert.notEqual(result.body.result?.['resultType'], 'input_required', JSON.stringify(result.body));
    assert.equal(result.body.result?.['isError'], true);
    assert.equal(
      (result.body.result?.['_meta'] as Record<string, unknown>)['portcullis/code'],
      'UPSTREAM_ERROR',
      JSON.stringify(result.body),
    );
  });

  it('refuses an Mcp-Param header that disagrees with the body (-32020) before the upstream sees the call', async () => {
    const before = asked();
    const key = first.agents['agent']!.key;
    const params = { name: 'modern_routed', arguments: { region: 'eu-west' } };
    const capabilities = {};
    const refusals = [
      await modernPost(first.gateway.mcpUrl, 'tools/call', params, { key, capabilities }),
      await modernPost(first.gateway.mcpUrl, 'tools/call', params, {
        key,
        capabilities,
        headers: { 'Mcp-Param-Region': 'us-east' },
      }),
      await modernPost(first.gateway.mcpUrl, 'tools/call', params, {
        key,
        capabilities,
        headers: { 'Mcp-Param-Region': '=?base64?ZXUtd2VzdA?=' },
      }),
    ];
    for (const refused of refusals) {
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error?.code, -32020, JSON.stringify(refused.body));
    }
    assert.equal(asked(), before, 'nothing reached the upstream');
    // Without the argument no header is expected, and the call goes through.
    const plain = await modernPost(
      first.gateway.mcpUrl,
      'tools/call',
      { name: 'modern_routed', arguments: {} },
      { key, capabilities },
    );
    assert.match(JSON.stringify(plain.body.result?.['content']), /routed nowhere/);
    assert.equal(asked(), before + 1);
  });

  it('mirrors the Mcp-Param headers a 2026-07-28 upstream declares, so it accepts the call', async () => {
    const key = first.agents['agent']!.key;
    for (const [region, header] of [
      ['eu-west', 'eu-west'],
      ['Zürich', `=?base64?${Buffer.from('Zürich').toString('base64')}?=`],
    ] as const) {
      const done = await modernPost(
        first.gateway.mcpUrl,
        'tools/call',
        { name: 'modern_routed', arguments: { region } },
        { key, capabilities: {}, headers: { 'Mcp-Param-Region': header } },
      );
      assert.equal(done.body.result?.['isError'], undefined, JSON.stringify(done.body));
      assert.match(JSON.stringify(done.body.result?.['content']), new RegExp(`routed ${region}`));
    }
  });
});

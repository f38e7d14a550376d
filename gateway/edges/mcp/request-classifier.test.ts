import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  classifyInboundRequest,
  PROTOCOL_VERSION_META_KEY,
  type InboundClassificationOutcome,
  type InboundHttpRequest,
} from '@modelcontextprotocol/server';
import {
  createRequestClassifier,
  envelopeKey,
  MAX_ENVELOPE_KEY_LENGTH,
  type ModernRequest,
} from './request-classifier.js';

const CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
const MODERN = '2026-07-28';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const ENVELOPE = {
  [PROTOCOL_VERSION_META_KEY]: MODERN,
  [CLIENT_INFO]: { name: 'agent', version: '1.0.0' },
  [CLIENT_CAPABILITIES]: {},
};

function toolCall(overrides: Record<string, unknown> = {}, meta: unknown = ENVELOPE): InboundHttpRequest {
  return {
    httpMethod: 'POST',
    protocolVersionHeader: MODERN,
    mcpMethodHeader: 'tools/call',
    mcpNameHeader: 'echo',
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hi' }, _meta: meta },
      ...overrides,
    },
  };
}

/** What the SDK's own classifier says, in the classifier's terms. */
function expected(request: InboundHttpRequest): ModernRequest | undefined {
  const route = classifyInboundRequest(request);
  return route.kind === 'modern' && route.messageKind === 'request'
    ? { message: route.message, classification: route.classification }
    : undefined;
}

/** A classifier over the SDK's, counting the requests the SDK's classified. */
function counted(entries?: number): { classify: ReturnType<typeof createRequestClassifier>; calls: () => number } {
  let calls = 0;
  const classify = createRequestClassifier({
    ...(entries !== undefined ? { entries } : {}),
    classify: (request): InboundClassificationOutcome => {
      calls += 1;
      return classifyInboundRequest(request);
    },
  });
  return { classify, calls: () => calls };
}

/** Values a member may hold, right or wrong, as JSON can carry them. */
const anyScalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(1.5, -0, Infinity),
  fc.constantFrom('', 'x', '2.0'),
);
const version = fc.oneof(fc.constantFrom(MODERN, '2025-11-25', '2099-01-01', ' 2026-07-28'), anyScalar);

/**
 * A `_meta` from a small set of parts, so that a run of requests repeats envelopes: the full envelope, parts
 * of it, wrong values in each key the SDK checks (the capabilities, the client's info, a progress token, a
 * related task) and keys it lets through.
 */
const meta = fc.oneof(
  fc.record(
    {
      [PROTOCOL_VERSION_META_KEY]: version,
      [CLIENT_INFO]: fc.oneof(
        fc.constant({ name: 'agent', version: '1.0.0' }),
        fc.constant({ name: 'agent' }),
        fc.constant({ name: 7, version: '1' }),
        anyScalar,
      ),
      [CLIENT_CAPABILITIES]: fc.oneof(
        fc.constant({}),
        fc.constant({ elicitation: {} }),
        fc.constant({ sampling: 3 }),
        fc.constant({ roots: { listChanged: 'yes' } }),
        anyScalar,
      ),
      'io.modelcontextprotocol/logLevel': fc.constantFrom('info', 'loud'),
      progressToken: fc.oneof(fc.constantFrom('t', 4, 2 ** 53, 1e20, -7), anyScalar),
      'io.modelcontextprotocol/related-task': fc.oneof(fc.constant({ taskId: 't' }), fc.constant({ taskId: 1 })),
      'portcullis/task': fc.constantFrom('a', 'b'),
      traceparent: fc.oneof(fc.constantFrom(TRACEPARENT, 'not a trace'), anyScalar),
      tracestate: fc.constantFrom('vendor=1', ''),
    },
    { requiredKeys: [] },
  ),
  anyScalar,
  fc.constant([ENVELOPE]),
);

const params = fc.oneof(
  fc.record(
    {
      name: fc.constantFrom('echo', 'other'),
      arguments: fc.oneof(fc.constant({ text: 'hi' }), fc.constant({ _meta: { x: 1 } }), anyScalar),
      _meta: meta,
      other: anyScalar,
    },
    { requiredKeys: [] },
  ),
  anyScalar,
  fc.constant([]),
);

const body = fc.oneof(
  fc.record(
    {
      jsonrpc: fc.oneof(fc.constant('2.0'), anyScalar),
      id: fc.oneof(fc.constantFrom(1, 2, 'a', 'b'), anyScalar),
      method: fc.constantFrom('tools/call', 'tools/list', 'initialize', 'notifications/cancelled'),
      params,
      result: fc.constant({}),
      error: fc.constant({ code: 1, message: 'x' }),
      extra: anyScalar,
    },
    { requiredKeys: ['params'] },
  ),
  anyScalar,
);

const anyRequest = fc.record(
  {
    httpMethod: fc.constantFrom('POST', 'post', 'GET'),
    protocolVersionHeader: fc.constantFrom(MODERN, '2025-11-25', '2099-01-01', ' 2026-07-28', ''),
    mcpMethodHeader: fc.constantFrom('tools/call', 'tools/list', ' tools/call', ''),
    mcpNameHeader: fc.constantFrom('echo', 'other'),
    body,
  },
  { requiredKeys: ['httpMethod', 'body'] },
) as fc.Arbitrary<InboundHttpRequest>;

/** A request as a test changes it: the body's `params` stays an object, its `_meta` may become anything. */
interface ChangedRequest {
  httpMethod: string;
  protocolVersionHeader?: string | undefined;
  mcpMethodHeader?: string | undefined;
  mcpNameHeader?: string;
  body: Record<string, unknown> & { params: Record<string, unknown> };
}
type Mutation = (request: ChangedRequest) => void;

/** One change to a valid 2026-07-28 `tools/call`: a member, a header or a key of its envelope. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<string | undefined>('post', 'GET').map(
    (value): Mutation =>
      (r) =>
        (r.httpMethod = value!),
  ),
  fc.constantFrom(undefined, '2025-11-25', '2099-01-01', ' 2026-07-28').map((value): Mutation => (r) => {
    r.protocolVersionHeader = value;
  }),
  fc.constantFrom(undefined, 'tools/list', ' tools/call').map((value): Mutation => (r) => {
    r.mcpMethodHeader = value;
  }),
  fc.constantFrom('name', 'other').map(
    (value): Mutation =>
      (r) =>
        (r.mcpNameHeader = value),
  ),
  fc.tuple(fc.constantFrom('jsonrpc', 'id', 'method', 'result', 'error', 'extra'), anyScalar).map(
    ([member, value]): Mutation =>
      (r) =>
        (r.body[member] = value),
  ),
  fc.constantFrom(2, 'a', 'b').map(
    (id): Mutation =>
      (r) =>
        (r.body['id'] = id),
  ),
  fc.constantFrom('tools/list', 'initialize').map(
    (method): Mutation =>
      (r) =>
        (r.body['method'] = method),
  ),
  fc.constantFrom('result', 'error').map(
    (member): Mutation =>
      (r) =>
        (r.body[member] = {}),
  ),
  fc.tuple(fc.constantFrom('name', 'arguments', 'other'), anyScalar).map(
    ([member, value]): Mutation =>
      (r) =>
        (r.body.params[member] = value),
  ),
  meta.map(
    (value): Mutation =>
      (r) =>
        (r.body.params['_meta'] = value),
  ),
  fc
    .tuple(
      fc.constantFrom(
        PROTOCOL_VERSION_META_KEY,
        CLIENT_INFO,
        CLIENT_CAPABILITIES,
        'io.modelcontextprotocol/logLevel',
        'progressToken',
        'portcullis/task',
        'traceparent',
        '__proto__',
      ),
      fc.oneof(
        version,
        fc.constant({ sampling: 3 }),
        fc.constant({ name: 'agent' }),
        fc.constant({ [PROTOCOL_VERSION_META_KEY]: MODERN }),
        fc.constantFrom(8, 2 ** 53, 'token', 'debug'),
        fc.constant(undefined),
      ),
    )
    .map(([key, value]): Mutation => (r) => {
      const envelope = r.body.params['_meta'];
      if (envelope === null || typeof envelope !== 'object') return;
      // As JSON.parse makes it: an own member, `__proto__` included.
      if (value === undefined) delete (envelope as Record<string, unknown>)[key];
      else Object.defineProperty(envelope, key, { value, enumerable: true, writable: true, configurable: true });
    }),
);

/** Mostly valid `tools/call`s with at most two changes each, so that a run repeats and varies envelopes. */
const nearlyValid = fc.array(mutation, { maxLength: 2 }).map((changes) => {
  const request = structuredClone(toolCall()) as ChangedRequest;
  for (const change of changes) change(request);
  return request as InboundHttpRequest;
});

const request = fc.oneof({ arbitrary: nearlyValid, weight: 4 }, { arbitrary: anyRequest, weight: 1 });

describe('the 2026-07-28 request classifier', () => {
  it('answers every request as the SDK classifier does, envelopes kept or not', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 40 }), (requests) => {
        const classify = createRequestClassifier();
        for (const each of requests) {
          const answer = classify(each);
          assert.deepEqual(answer, expected(each));
          if (answer !== undefined) assert.equal(answer.message, each.body);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('classifies an envelope once, whatever the id, the tool and its arguments', () => {
    const { classify, calls } = counted();
    const first = classify(toolCall());
    assert.deepEqual(first?.classification, { era: 'modern', revision: MODERN });
    const again = toolCall({ id: 7, params: { name: 'other', arguments: { n: 2 }, _meta: { ...ENVELOPE } } });
    assert.deepEqual(classify(again), expected(again));
    assert.equal(classify(again)?.message, again.body);
    const named = toolCall({ id: 'request-3' });
    assert.deepEqual(classify(named), expected(named));
    assert.equal(calls(), 1);
    // Each answer is a copy: changing one changes no later answer.
    first!.classification.revision = 'changed';
    assert.equal(classify(toolCall())?.classification.revision, MODERN);
    assert.equal(calls(), 1);
  });

  it('classifies an agent once, whatever its trace context, progress tokens and task handles', () => {
    const { classify, calls } = counted();
    const requests = [1, 2, 3].flatMap((n) => [
      toolCall(
        { id: n },
        { ...ENVELOPE, traceparent: TRACEPARENT.replace('b7ad', `${n}0${n}0`), tracestate: `v=${n}` },
      ),
      toolCall({ id: `p${n}` }, { ...ENVELOPE, progressToken: n, 'portcullis/task': `handle-${n}` }),
      toolCall({}, { ...ENVELOPE, progressToken: 10 * n, traceparent: 'not a trace' }),
    ]);
    for (const each of requests) assert.deepEqual(classify(each), expected(each));
    // One for each kind of envelope: none or an integer as progress token.
    assert.equal(calls(), 2);
    const stringToken = toolCall({}, { ...ENVELOPE, progressToken: 'p' });
    assert.deepEqual(classify(stringToken), expected(stringToken));
    assert.equal(calls(), 3);
    assert.equal(
      envelopeKey(toolCall({}, { ...ENVELOPE, progressToken: 'q', traceparent: null })),
      envelopeKey(stringToken),
    );
  });

  it('classifies every time a progress token that is neither a string nor a safe integer', () => {
    const { classify, calls } = counted();
    for (const token of [1.5, 2 ** 53, true, { id: 1 }, null]) {
      const each = toolCall({}, { ...ENVELOPE, progressToken: token });
      assert.equal(envelopeKey(each), undefined);
      for (let n = 0; n < 2; n++) assert.deepEqual(classify(each), expected(each));
    }
    assert.equal(calls(), 10);
  });

  it('classifies again what the outcome may depend on', () => {
    const { classify, calls } = counted();
    classify(toolCall());
    const others: InboundHttpRequest[] = [
      toolCall({}, { ...ENVELOPE, [CLIENT_CAPABILITIES]: { elicitation: {} } }),
      { ...toolCall(), mcpMethodHeader: 'tools/list' },
      { ...toolCall(), protocolVersionHeader: '2099-01-01' },
      toolCall({ id: 1.5 }),
      toolCall({ jsonrpc: '1.0' }),
      toolCall({}, { ...ENVELOPE, 'io.modelcontextprotocol/logLevel': 'debug' }),
      toolCall({}, { ...ENVELOPE, 'io.modelcontextprotocol/related-task': { taskId: 't' } }),
      toolCall({}, { ...ENVELOPE, progressToken: 'p' }),
      toolCall({}, { [PROTOCOL_VERSION_META_KEY]: MODERN, [CLIENT_CAPABILITIES]: {} }),
    ];
    for (const other of others) assert.deepEqual(classify(other), expected(other));
    assert.equal(calls(), 1 + others.length);
  });

  it('does not keep an envelope that cannot be told from another as JSON, nor a long one', () => {
    const infinite = toolCall({}, { ...ENVELOPE, progressToken: JSON.parse('1e999') as number });
    const nullToken = toolCall({}, { ...ENVELOPE, progressToken: null });
    assert.equal(envelopeKey(infinite), undefined);
    assert.equal(envelopeKey(nullToken), undefined);
    const longName = { name: 'x'.repeat(MAX_ENVELOPE_KEY_LENGTH), version: '1' };
    const long = toolCall({}, { ...ENVELOPE, [CLIENT_INFO]: longName });
    assert.equal(envelopeKey(long), undefined);
    // A long member the SDK lets through is not in the key.
    const padded = toolCall({}, { ...ENVELOPE, 'vendor/padding': 'x'.repeat(MAX_ENVELOPE_KEY_LENGTH) });
    assert.equal(envelopeKey(padded), envelopeKey(toolCall()));
    const { classify, calls } = counted();
    for (const each of [long, long]) assert.deepEqual(classify(each), expected(each));
    assert.equal(calls(), 2);
  });

  it('keeps only bodies with the members of a request', () => {
    assert.equal(envelopeKey(toolCall({ result: {} })), undefined);
    assert.equal(envelopeKey(toolCall({ params: { name: 'echo' } })), undefined);
    assert.equal(envelopeKey({ ...toolCall(), body: [toolCall().body] }), undefined);
    assert.notEqual(envelopeKey(toolCall()), undefined);
  });

  it('forgets the least recently used envelope beyond its bound', () => {
    const { classify, calls } = counted(2);
    const envelope = (n: number) => toolCall({}, { ...ENVELOPE, [CLIENT_INFO]: { name: `agent-${n}`, version: '1' } });
    for (const n of [1, 2, 3, 1]) classify(envelope(n));
    assert.equal(calls(), 4);
    classify(envelope(1));
    classify(envelope(3));
    assert.equal(calls(), 4);
  });
});

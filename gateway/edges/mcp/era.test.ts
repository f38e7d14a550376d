import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { claimsModernEnvelope, isLegacyPost } from './era.js';

const CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';

/** Values a claim, a method or an id may hold, right or wrong. */
const anyScalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 6 }));
const version = fc.oneof(fc.constantFrom('2026-07-28', '2025-11-25', '2025-06-18', '2099-01-01', ''), anyScalar);

/** A `_meta`: the envelope in full, in part, with wrong values, or something else altogether. */
const meta = fc.oneof(
  fc.record(
    {
      [PROTOCOL_VERSION_META_KEY]: version,
      [CLIENT_INFO]: fc.oneof(fc.constant({ name: 'agent', version: '1.0.0' }), anyScalar),
      [CLIENT_CAPABILITIES]: fc.oneof(fc.constant({}), fc.constant({ elicitation: {} }), anyScalar),
      'portcullis/task': fc.string({ maxLength: 8 }),
    },
    { requiredKeys: [] },
  ),
  anyScalar,
  fc.array(anyScalar, { maxLength: 2 }),
);

const params = fc.oneof(
  fc.record(
    {
      name: fc.constantFrom('echo', 'other'),
      arguments: fc.constant({ text: 'hi' }),
      protocolVersion: version,
      capabilities: fc.constant({}),
      clientInfo: fc.constant({ name: 'agent', version: '1.0.0' }),
      _meta: meta,
    },
    { requiredKeys: [] },
  ),
  anyScalar,
  fc.array(anyScalar, { maxLength: 2 }),
);

/** One JSON-RPC message: requests, notifications, responses and malformed ones. */
const message = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), anyScalar),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)),
    method: fc.oneof(
      fc.constantFrom(
        'initialize',
        'tools/call',
        'tools/list',
        'server/discover',
        'subscriptions/listen',
        'notifications/initialized',
        'notifications/cancelled',
        'ping',
      ),
      anyScalar,
    ),
    params,
    result: fc.constant({}),
    error: fc.constant({ code: -32600, message: 'no' }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 6, arbitrary: message },
  { weight: 1, arbitrary: fc.array(message, { maxLength: 3 }) },
  { weight: 1, arbitrary: anyScalar },
);

/** The headers an agent may send, matching the body or not. */
const headers = fc.record(
  {
    'mcp-protocol-version': version.map(String),
    'mcp-method': fc.constantFrom('tools/call', 'initialize', 'ping'),
    'mcp-name': fc.constantFrom('echo', 'other'),
  },
  { requiredKeys: [] },
);

function post(extra: Record<string, string>): Request {
  return new Request('http://127.0.0.1/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra },
  });
}

function modernCall(): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: 'echo',
      arguments: { text: 'hi' },
      _meta: {
        [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
        [CLIENT_INFO]: { name: 'agent', version: '1.0.0' },
        [CLIENT_CAPABILITIES]: {},
      },
    },
  };
}

describe('the protocol era of a POST without a session', () => {
  it('is what the SDK decides, for any body and headers', async () => {
    await fc.assert(
      fc.asyncProperty(body, headers, async (value, extra) => {
        const sdk = await isLegacyRequest(post(extra), value);
        assert.equal(await isLegacyPost(post(extra), value), sdk);
        // The shortcut is taken only where the SDK says the same.
        if (claimsModernEnvelope(value)) assert.equal(sdk, false);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the shortcut for a 2026-07-28 call, and for an envelope the SDK will refuse', async () => {
    assert.equal(claimsModernEnvelope(modernCall()), true);
    const notification = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { _meta: { [PROTOCOL_VERSION_META_KEY]: 'x' } },
    };
    assert.equal(claimsModernEnvelope(notification), true);
    for (const value of [modernCall(), notification]) assert.equal(await isLegacyRequest(post({}), value), false);
  });

  it('leaves initialize, posted responses, batches and envelope-less messages to the SDK', async () => {
    const call = modernCall();
    // An initialize whose claim is not a valid 2026-07-28 envelope is the 2025 handshake.
    const initialize = {
      ...call,
      method: 'initialize',
      params: { _meta: { [PROTOCOL_VERSION_META_KEY]: '2025-11-25' } },
    };
    const response = { jsonrpc: '2.0', id: 1, result: {}, params: call['params'] };
    const failed = { ...call, error: { code: 1, message: 'x' } };
    const noClaim = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: {} } };
    for (const value of [initialize, response, failed, [call], noClaim, null, 'text']) {
      assert.equal(claimsModernEnvelope(value), false, JSON.stringify(value));
    }
    // Each goes to the SDK's own rule: the 2025 handshake, a posted response and an envelope-less call are
    // 2025-era, the others are whatever the SDK says.
    for (const value of [initialize, response, failed, [call], noClaim, null, 'text']) {
      assert.equal(await isLegacyPost(post({}), value), await isLegacyRequest(post({}), value));
    }
    assert.equal(await isLegacyPost(post({}), initialize), true);
    assert.equal(await isLegacyPost(post({}), { jsonrpc: '2.0', id: 1, result: {} }), true);
    assert.equal(await isLegacyPost(post({}), noClaim), true);
  });
});

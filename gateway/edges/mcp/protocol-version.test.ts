import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { negotiatedVersion, watchProtocolVersion } from './protocol-version.js';

const initialize = (protocolVersion: unknown): JSONRPCMessage =>
  ({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 't', version: '1' } },
  }) as JSONRPCMessage;

function fakeTransport(): Transport {
  return { start: async () => undefined, send: async () => undefined, close: async () => undefined };
}

describe('negotiated protocol version', () => {
  it('keeps a supported version the client asked for, else answers with the latest', () => {
    assert.equal(negotiatedVersion('2025-03-26'), '2025-03-26');
    assert.equal(negotiatedVersion('1999-01-01'), LATEST_PROTOCOL_VERSION);
    assert.equal(negotiatedVersion(undefined), LATEST_PROTOCOL_VERSION);
  });

  it('reads initialize as it passes and leaves other messages alone', () => {
    const transport = fakeTransport();
    const seen: string[] = [];
    watchProtocolVersion(transport, (version) => seen.push(version));
    transport.onmessage?.({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} } as JSONRPCMessage);
    transport.onmessage?.({ jsonrpc: '2.0', method: 'initialize', params: {} } as JSONRPCMessage);
    assert.deepEqual(seen, [], 'only an initialize request counts');
    transport.onmessage?.(initialize('2025-06-18'));
    assert.deepEqual(seen, ['2025-06-18']);
  });
});

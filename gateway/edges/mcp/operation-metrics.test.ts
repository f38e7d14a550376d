import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpMetricAttributes } from '../../services/metrics/index.js';
import { timeOperations } from './operation-metrics.js';

function harness() {
  const sent: JSONRPCMessage[] = [];
  const transport: Transport = {
    start: async () => undefined,
    send: async (message) => {
      sent.push(message);
    },
    close: async () => undefined,
  };
  const observed: McpMetricAttributes[] = [];
  timeOperations(
    transport,
    { transport: 'pipe', protocolVersion: '2025-06-18' },
    { observeMcpOperation: (attributes) => observed.push(attributes) },
  );
  const receive = (message: object) => transport.onmessage?.(message as JSONRPCMessage);
  const answer = (message: object) => transport.send(message as JSONRPCMessage);
  return { sent, observed, receive, answer };
}

describe('MCP operation timing at the transport', () => {
  it('times a request until its response, with the tool name and the stable code of a denial', async () => {
    const h = harness();
    h.receive({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'api_read', arguments: {} } });
    await h.answer({
      jsonrpc: '2.0',
      id: 1,
      result: { content: [], isError: true, _meta: { 'portcullis/code': 'POLICY_DENIED' } },
    });
    assert.deepEqual(h.observed, [
      {
        method: 'tools/call',
        tool: 'api_read',
        errorType: 'POLICY_DENIED',
        networkTransport: 'pipe',
        protocolVersion: '2025-06-18',
      },
    ]);
    assert.equal(h.sent.length, 1, 'the response still goes out');
  });

  it('uses tool_error for a tool result with isError and no code, and the data code of a JSON-RPC error', async () => {
    const h = harness();
    h.receive({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 't' } });
    h.receive({ jsonrpc: '2.0', id: 'b', method: 'prompts/get', params: { name: 'p' } });
    h.receive({ jsonrpc: '2.0', id: 'c', method: 'ping' });
    await h.answer({ jsonrpc: '2.0', id: 'a', result: { content: [], isError: true } });
    await h.answer({
      jsonrpc: '2.0',
      id: 'b',
      error: { code: -32602, message: 'x', data: { code: 'PROMPT_NOT_FOUND' } },
    });
    await h.answer({ jsonrpc: '2.0', id: 'c', error: { code: -32603, message: 'x' } });
    assert.deepEqual(
      h.observed.map((o) => [o.method, o.tool ?? o.prompt, o.errorType]),
      [
        ['tools/call', 't', 'tool_error'],
        ['prompts/get', 'p', 'PROMPT_NOT_FOUND'],
        ['ping', undefined, '-32603'],
      ],
    );
  });

  it('does not time notifications, forgets cancelled requests, and ignores responses to unknown ids', async () => {
    const h = harness();
    h.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
    h.receive({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 't' } });
    h.receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } });
    await h.answer({ jsonrpc: '2.0', id: 7, result: { content: [] } });
    await h.answer({ jsonrpc: '2.0', id: 99, result: {} });
    assert.deepEqual(h.observed, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ProtocolErrorCode,
  Server,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type Transport,
} from '@modelcontextprotocol/server';
import { requestDelivery } from './request-delivery.js';

/** A transport that keeps what the server sends, and an observer set on it before the server connects. */
function recordingTransport(): { transport: Transport; sent: JSONRPCMessage[]; observed: JSONRPCMessage[] } {
  const sent: JSONRPCMessage[] = [];
  const observed: JSONRPCMessage[] = [];
  const transport: Transport = {
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
    send: (message) => {
      sent.push(message);
      return Promise.resolve();
    },
  };
  transport.onmessage = (message) => observed.push(message);
  return { transport, sent, observed };
}

function toolsServer(): Server {
  const server = new Server({ name: 'delivery-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/call', (request) => ({
    content: [{ type: 'text', text: `called ${request.params.name}` }],
  }));
  return server;
}

/** Counts the messages that reach the `onmessage` the SDK's `connect` set (its sorting of inbound messages). */
function countSorted(transport: Transport): () => number {
  let count = 0;
  const sdkOnMessage = transport.onmessage!;
  transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
    count += 1;
    sdkOnMessage(message, extra);
  };
  return () => count;
}

async function until<T>(read: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('nothing arrived');
}

const call = (id: number, name: string): JSONRPCRequest => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});

describe('request delivery', () => {
  it("hands a checked request to the server's request dispatch, past the SDK's sorting, observers first", async () => {
    const server = toolsServer();
    const { transport, sent, observed } = recordingTransport();
    const deliver = requestDelivery(server, transport);
    await server.connect(transport);
    const sorted = countSorted(transport);

    deliver(call(7, 'echo'));
    assert.deepEqual(observed, [call(7, 'echo')], 'the observers set before connect see the request');
    const answer = await until(() => sent[0]);
    assert.deepEqual(answer, { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'called echo' }] } });
    assert.equal(sorted(), 0, "the request did not go through the SDK's onmessage");
  });

  it('answers as the protocol layer answers: an unknown method is refused with its error', async () => {
    const server = toolsServer();
    const { transport, sent } = recordingTransport();
    const deliver = requestDelivery(server, transport);
    await server.connect(transport);

    deliver({ jsonrpc: '2.0', id: 'p-1', method: 'prompts/get', params: { name: 'x' } });
    const answer = await until(() => sent[0]);
    assert.ok('error' in answer, 'an error answer');
    assert.equal(answer.id, 'p-1');
    assert.equal(answer.error.code, ProtocolErrorCode.MethodNotFound);
  });

  it("looks the server's dispatch up on every delivery, as the SDK's onmessage does", async () => {
    const server = toolsServer();
    const { transport, sent } = recordingTransport();
    const deliver = requestDelivery(server, transport);
    await server.connect(transport);
    // Replaced after the delivery was made (a subclass's override, a wrapper): the replacement serves.
    const dispatched: unknown[] = [];
    const own = server as unknown as { _onrequest(request: JSONRPCRequest): void };
    const original = own._onrequest.bind(server);
    own._onrequest = (request) => {
      dispatched.push(request.id);
      original(request);
    };

    deliver(call(9, 'echo'));
    assert.deepEqual(dispatched, [9]);
    const answer = await until(() => sent[0]);
    assert.ok('result' in answer, 'a result');
    assert.equal(answer.id, 9);
  });

  it("goes through the transport's onmessage when the server has no request dispatch of its own", async () => {
    const server = toolsServer();
    // Hidden while the delivery is made; the SDK's own onmessage still reaches it afterwards.
    Object.defineProperty(server, '_onrequest', { value: undefined, configurable: true });
    const { transport, sent, observed } = recordingTransport();
    const deliver = requestDelivery(server, transport);
    delete (server as unknown as { _onrequest?: unknown })._onrequest;
    await server.connect(transport);
    const sorted = countSorted(transport);

    deliver(call(3, 'echo'));
    assert.equal(sorted(), 1, "the SDK's onmessage received the request");
    assert.equal(observed.length, 1, 'the observers saw it once');
    const answer = await until(() => sent[0]);
    assert.ok('result' in answer, 'a result');
    assert.equal(answer.id, 3);
  });
});

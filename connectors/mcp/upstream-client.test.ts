import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InMemoryTransport, SdkError, SdkErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';
import { DictionaryMap } from '../call-registries.js';
import { PER_REQUEST_REGISTRIES, UpstreamClient } from './upstream-client.js';

/** Counts how often the negotiated codec is asked whether the era has a method (a result of `undefined`). */
class ProbeCountingClient extends UpstreamClient {
  probes = 0;
  readonly #counting = new WeakMap<object, ReturnType<UpstreamClient['_wireCodec']>>();
  protected override _wireCodec() {
    const codec = super._wireCodec();
    const known = this.#counting.get(codec);
    if (known !== undefined) return known;
    const counting = new Proxy(codec, {
      get: (target, key, receiver) => {
        const value: unknown = Reflect.get(target, key, receiver);
        if (key !== 'validateResult' || typeof value !== 'function') return value;
        return (method: string, raw: unknown): unknown => {
          if (raw === undefined) this.probes += 1;
          return (value as (m: string, r: unknown) => unknown).call(target, method, raw);
        };
      },
    });
    this.#counting.set(codec, counting);
    return counting;
  }
}

interface Upstream {
  client: ProbeCountingClient;
  /** From now on, answer every tools/call with this result instead of the server's. */
  answerCallsWith(result: unknown): void;
  close(): Promise<void>;
}

const open: Upstream[] = [];
/** Calls of the `hang` tool waiting to be answered. */
const hanging: (() => void)[] = [];
afterEach(async () => {
  for (const release of hanging.splice(0)) release();
  await Promise.all(open.splice(0).map((upstream) => upstream.close()));
});

/** A real SDK server with an `echo` tool, served in memory; `era` picks the client's negotiation. */
async function connect(era: 'legacy' | 'modern'): Promise<Upstream> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const callIds = new Set<unknown>();
  let replacement: unknown;
  const send = serverSide.send.bind(serverSide);
  serverSide.send = async (message: JSONRPCMessage, options) => {
    if ('result' in message && callIds.delete(message.id) && replacement !== undefined)
      return send({ ...message, result: replacement as never }, options);
    return send(message, options);
  };
  // Note which requests are tool calls as the client sends them.
  const clientSend = clientSide.send.bind(clientSide);
  clientSide.send = async (message: JSONRPCMessage, options) => {
    if ('method' in message && message.method === 'tools/call' && 'id' in message) callIds.add(message.id);
    return clientSend(message, options);
  };
  const handle = serveStdio(
    () => {
      const server = new McpServer({ name: 'upstream', version: '1.0.0' });
      server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({
        content: [{ type: 'text' as const, text }],
      }));
      // Answers only when the test says so (or never).
      server.registerTool('hang', { inputSchema: z.object({}) }, async () => {
        await new Promise<void>((resolve) => hanging.push(resolve));
        return { content: [{ type: 'text' as const, text: 'released' }] };
      });
      return server;
    },
    { transport: serverSide },
  );
  const client = new ProbeCountingClient(
    { name: 'test', version: '1.0.0' },
    { versionNegotiation: { mode: era === 'modern' ? 'auto' : 'legacy' } },
  );
  await client.connect(clientSide);
  assert.equal(client.getProtocolEra(), era);
  const upstream: Upstream = {
    client,
    answerCallsWith(result) {
      replacement = result;
    },
    async close() {
      await client.close();
      await handle.close();
    },
  };
  open.push(upstream);
  return upstream;
}

const echo = (text: string) => ({ method: 'tools/call' as const, params: { name: 'echo', arguments: { text } } });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

/** How a request fails: thrown at once (the SDK's era gate does that) or as a rejection. */
async function failure(send: () => Promise<unknown>): Promise<{ thrown: boolean; error: unknown }> {
  let pending: Promise<unknown>;
  try {
    pending = send();
  } catch (error) {
    return { thrown: true, error };
  }
  return { thrown: false, error: await rejection(pending) };
}

describe('upstream client, before a version is negotiated', () => {
  it("leaves requests to the SDK's own path", async () => {
    const client = new ProbeCountingClient({ name: 'test', version: '1.0.0' });
    const expected = await failure(() => client.request(echo('hi')));
    const actual = await failure(() => client.requestSpec(echo('hi')));
    assert.deepEqual(
      { thrown: actual.thrown, message: (actual.error as Error).message },
      { thrown: expected.thrown, message: (expected.error as Error).message },
    );
    assert.equal(client.probes, 0);
  });
});

for (const era of ['legacy', 'modern'] as const) {
  describe(`upstream client, ${era} era`, () => {
    it('answers a spec request as Client.request does', async () => {
      const { client } = await connect(era);
      const expected = await client.request(echo('hi'));
      assert.deepEqual(await client.requestSpec(echo('hi')), expected);
      assert.deepEqual(expected.content, [{ type: 'text', text: 'hi' }]);
    });

    it('refuses an invalid result with the same error as Client.request', async () => {
      const upstream = await connect(era);
      upstream.answerCallsWith({ content: 'not a list of blocks' });
      const expected = await rejection(upstream.client.request(echo('hi')));
      const actual = await rejection(upstream.client.requestSpec(echo('hi')));
      assert.ok(actual instanceof SdkError);
      assert.equal(actual.code, SdkErrorCode.InvalidResult);
      assert.ok(expected instanceof SdkError);
      assert.equal(actual.message, expected.message);
      assert.match(actual.message, /Invalid result for tools\/call/);
    });

    it('asks the era whether it has the method once, not on every request', async () => {
      const { client } = await connect(era);
      for (const text of ['a', 'b', 'c', 'd']) await client.requestSpec(echo(text));
      assert.equal(client.probes, 1);
      assert.equal(client.resultValidator('tools/call'), client.resultValidator('tools/call'));
      assert.equal(client.probes, 1);
    });

    it('keeps its per-request registries in dictionary maps, and they work as the Maps did', async () => {
      const { client } = await connect(era);
      const fields = client as unknown as Record<string, unknown>;
      for (const field of PER_REQUEST_REGISTRIES)
        assert.ok(fields[field] instanceof DictionaryMap, `${field} is ${String(fields[field])}`);
      // Answers go to their own requests, many in flight at once.
      const texts = Array.from({ length: 40 }, (_, i) => `call ${i}`);
      const results = await Promise.all(texts.map((text) => client.requestSpec(echo(text))));
      assert.deepEqual(
        results.map((result) => (result as { content: { text: string }[] }).content[0]?.text),
        texts,
      );
      // A request that times out is refused as before and leaves nothing behind.
      const timedOut = await rejection(
        client.requestSpec({ method: 'tools/call', params: { name: 'hang', arguments: {} } }, { timeout: 50 }),
      );
      assert.ok(timedOut instanceof SdkError && timedOut.code === SdkErrorCode.RequestTimeout, String(timedOut));
      for (const field of PER_REQUEST_REGISTRIES) assert.equal((fields[field] as Map<unknown, unknown>).size, 0);
      // Closing the connection refuses what is still in flight.
      const pending = rejection(client.requestSpec({ method: 'tools/call', params: { name: 'hang', arguments: {} } }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((fields['_responseHandlers'] as Map<unknown, unknown>).size, 1);
      await client.close();
      const closed = await pending;
      assert.ok(closed instanceof SdkError && closed.code === SdkErrorCode.ConnectionClosed, String(closed));
    });

    it("leaves a method the era does not define to the SDK's own error", async () => {
      const { client } = await connect(era);
      const absent = era === 'modern' ? 'initialize' : 'server/discover';
      assert.equal(client.resultValidator(absent), undefined);
      const request = { method: absent, params: {} } as const;
      const expected = await failure(() => client.request(request as never));
      const actual = await failure(() => client.requestSpec(request as never));
      assert.equal(actual.thrown, expected.thrown);
      assert.ok(actual.error instanceof SdkError && expected.error instanceof SdkError);
      assert.equal(actual.error.code, expected.error.code);
      assert.equal(actual.error.message, expected.error.message);
    });
  });
}

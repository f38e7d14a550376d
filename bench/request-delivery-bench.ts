/**
 * What handing a checked request to the server costs: through the `onmessage` the SDK's `connect` sets
 * (three schema checks sort the message before the protocol layer dispatches it) against the gateway's
 * `requestDelivery` (gateway/edges/mcp/request-delivery.ts), which dispatches it at once. A `tools/call`
 * served to its answer, on a server of the 2025 era (a session's) and on one bound to 2026-07-28 (the
 * long-lived server of modern-calls.ts, with the classification the SDK's classifier gives). Loops of each
 * alternate; medians in nanoseconds per request, and their ratio.
 */
import {
  PROTOCOL_VERSION_META_KEY,
  Server,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type Transport,
} from '@modelcontextprotocol/server';
import { onMessageDelivery, requestDelivery, type RequestDelivery } from '../gateway/edges/mcp/request-delivery.js';
import { alternateLoops, type AlternatedTimes } from './lib/alternate.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface RequestDeliveryBenchResult {
  loops: number;
  perLoop: number;
  /** Nanoseconds per request through the SDK's `onmessage`, then through `requestDelivery` (2025 era). */
  legacy: AlternatedTimes;
  /** The same on a server bound to 2026-07-28. */
  modern: AlternatedTimes;
}

const MODERN_REVISION = '2026-07-28';
const RESULT = { content: [{ type: 'text' as const, text: 'hello' }] };

interface Bench {
  viaSdk: RequestDelivery;
  direct: RequestDelivery;
  /** Settles once the answer to request `id` has been sent; rejects when it is an error. */
  answered(id: number): Promise<void>;
}

async function connectedServer(revision?: string): Promise<Bench> {
  const server = new Server({ name: 'bench', version: '1.0.0' }, { capabilities: { tools: {} } });
  if (revision !== undefined)
    (server as unknown as { _negotiatedProtocolVersion: string })._negotiatedProtocolVersion = revision;
  server.setRequestHandler('tools/call', () => RESULT);
  const waiting = new Map<number, (error?: Error) => void>();
  const transport: Transport = {
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
    send(message: JSONRPCMessage) {
      const id = 'id' in message && typeof message.id === 'number' ? message.id : undefined;
      const settle = id !== undefined ? waiting.get(id) : undefined;
      if ('error' in message) settle?.(new Error(`request delivery bench: ${message.error.message}`));
      else if ('result' in message) settle?.();
      return Promise.resolve();
    },
  };
  const direct = requestDelivery(server, transport);
  await server.connect(transport);
  return {
    viaSdk: onMessageDelivery(transport),
    direct,
    answered: (id) =>
      new Promise<void>((resolve, reject) =>
        waiting.set(id, (error) => {
          waiting.delete(id);
          if (error === undefined) resolve();
          else reject(error);
        }),
      ),
  };
}

function toolCall(id: number, revision?: string): JSONRPCRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: 'echo_echo',
      arguments: { text: 'hello' },
      ...(revision !== undefined
        ? {
            _meta: {
              [PROTOCOL_VERSION_META_KEY]: revision,
              'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          }
        : {}),
    },
  };
}

async function era(loops: number, perLoop: number, revision?: string): Promise<AlternatedTimes> {
  const bench = await connectedServer(revision);
  const extra: MessageExtraInfo | undefined =
    revision !== undefined ? { classification: { era: 'modern', revision } } : undefined;
  let nextId = 0;
  async function nanosPerRequest(deliver: RequestDelivery): Promise<number> {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perLoop; i++) {
      const id = ++nextId;
      const answered = bench.answered(id);
      deliver(toolCall(id, revision), extra);
      await answered;
    }
    return Number(process.hrtime.bigint() - started) / perLoop;
  }
  return alternateLoops(
    loops,
    () => nanosPerRequest(bench.viaSdk),
    () => nanosPerRequest(bench.direct),
  );
}

export async function runRequestDeliveryBench(
  options: { loops?: number; perLoop?: number } = {},
): Promise<RequestDeliveryBenchResult> {
  const loops = options.loops ?? 7;
  const perLoop = options.perLoop ?? 5_000;
  return {
    loops,
    perLoop,
    legacy: await era(loops, perLoop),
    modern: await era(loops, perLoop, MODERN_REVISION),
  };
}

const USAGE = `usage: node --import tsx bench/request-delivery-bench.ts

What handing a checked request to the server costs: the SDK's onmessage against the gateway's
requestDelivery, in both eras (ns a request, medians, and their ratio).`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(await runRequestDeliveryBench(), null, 2));
}

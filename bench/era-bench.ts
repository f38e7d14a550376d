/**
 * What routing a 2026-07-28 request to its era costs before the SDK's handler classifies it (again) to serve
 * it: the SDK's `isLegacyRequest` against the gateway's `isLegacyPost` (gateway/edges/mcp/era.ts), which
 * answers a request carrying the envelope claim without classifying it. Same request and body; loops of
 * each alternate; medians in nanoseconds per request, and their ratio.
 */
import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { isLegacyPost } from '../gateway/edges/mcp/era.js';
import { alternateLoops } from './lib/alternate.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface EraBenchResult {
  loops: number;
  perLoop: number;
  /** Median nanoseconds per request through the SDK's predicate. */
  sdkNanos: number;
  /** Median nanoseconds per request through the gateway's. */
  gatewayNanos: number;
  /** Median of the per-loop ratios gateway / SDK (lower is cheaper). */
  ratio: number;
}

/** A 2026-07-28 `tools/call` as the benchmark's raw driver sends it. */
const BODY = {
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: {
    name: 'echo_echo',
    arguments: { text: 'hello' },
    _meta: {
      [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': {},
    },
  },
};

const REQUEST = new Request('http://127.0.0.1/mcp', {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': 'echo_echo',
  },
});

async function nanosPerRequest(count: number, classify: typeof isLegacyRequest): Promise<number> {
  let legacy = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) if (await classify(REQUEST, BODY)) legacy++;
  const nanos = Number(process.hrtime.bigint() - started) / count;
  if (legacy !== 0) throw new Error('era bench: a 2026-07-28 request was taken for a 2025-era one');
  return nanos;
}

export async function runEraBench(options: { loops?: number; perLoop?: number } = {}): Promise<EraBenchResult> {
  const loops = options.loops ?? 7;
  const perLoop = options.perLoop ?? 20_000;
  const times = await alternateLoops(
    loops,
    () => nanosPerRequest(perLoop, isLegacyRequest),
    () => nanosPerRequest(perLoop, isLegacyPost),
  );
  return { loops, perLoop, sdkNanos: times.firstNanos, gatewayNanos: times.secondNanos, ratio: times.ratio };
}

const USAGE = `usage: node --import tsx bench/era-bench.ts

What routing a 2026-07-28 request to its era costs: the SDK's isLegacyRequest against the gateway's
isLegacyPost (ns a request, medians, and their ratio).`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(await runEraBench(), null, 2));
}

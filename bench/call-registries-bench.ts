/**
 * What a per-call registry costs a request (connectors/call-registries.ts): the `DictionaryMap` the gateway
 * keeps its in-flight requests in (the upstream client's response handlers, timeouts and progress handlers,
 * a stdio upstream's pending ids, the calls each edge has open) against a `Map`, which is cheaper but keeps
 * every call's objects alive through young-generation collections. Each request is what a registry sees of
 * a call: its entry added, looked up twice and removed, with 32 others in flight; once with ids counted up
 * as a client counts its JSON-RPC ids, once with string ids as an agent may choose them. Loops of each
 * alternate; medians in nanoseconds per request, and their ratio.
 */
import { DictionaryMap } from '../connectors/call-registries.js';
import { alternateLoops, type AlternatedTimes } from './lib/alternate.js';
import { nanosPerIteration } from './lib/stats.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface CallRegistriesBenchResult {
  loops: number;
  perLoop: number;
  inFlight: number;
  /** Nanoseconds per request in a `Map`, then in a `DictionaryMap`, with ids counted up from 1. */
  countedIds: AlternatedTimes;
  /** The same with string ids. */
  stringIds: AlternatedTimes;
}

type Registry<K> = Pick<Map<K, object>, 'set' | 'get' | 'has' | 'delete' | 'size'>;

/** One loop of `perLoop` requests through `registry`, `inFlight` at a time; nanoseconds a request. */
function requestsThrough<K>(registry: Registry<K>, idOf: (n: number) => K, inFlight: number, perLoop: number) {
  let next = 0;
  const open: K[] = [];
  while (open.length < inFlight) {
    const id = idOf(++next);
    registry.set(id, { id });
    open.push(id);
  }
  let found = 0;
  const nanos = nanosPerIteration(perLoop, () => {
    const id = idOf(++next);
    registry.set(id, { id });
    open.push(id);
    const done = open.shift()!;
    if (registry.has(done) && registry.get(done) !== undefined) found++;
    registry.delete(done);
  });
  for (const id of open) registry.delete(id);
  if (found !== perLoop || registry.size !== 0) throw new Error('call registries bench: an entry was lost');
  return nanos;
}

export async function runCallRegistriesBench(
  options: { loops?: number; perLoop?: number; inFlight?: number } = {},
): Promise<CallRegistriesBenchResult> {
  const loops = options.loops ?? 7;
  const perLoop = options.perLoop ?? 200_000;
  const inFlight = options.inFlight ?? 32;
  // One registry of each kind for every loop, as the gateway keeps one for as long as it runs.
  const countedMap = new Map<number, object>();
  const countedDictionary = new DictionaryMap<number, object>();
  const stringMap = new Map<string, object>();
  const stringDictionary = new DictionaryMap<string, object>();
  const counted = (n: number): number => n;
  const string = (n: number): string => `req-${n}`;
  const countedIds = await alternateLoops(
    loops,
    () => requestsThrough(countedMap, counted, inFlight, perLoop),
    () => requestsThrough(countedDictionary, counted, inFlight, perLoop),
  );
  const stringIds = await alternateLoops(
    loops,
    () => requestsThrough(stringMap, string, inFlight, perLoop),
    () => requestsThrough(stringDictionary, string, inFlight, perLoop),
  );
  return { loops, perLoop, inFlight, countedIds, stringIds };
}

const USAGE = `usage: node --import tsx bench/call-registries-bench.ts

What a per-call registry costs a request: the gateway's DictionaryMap against a Map, with ids counted up
and with string ids (ns a request, medians, and their ratio).`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(await runCallRegistriesBench(), null, 2));
}

/**
 * What a tool call allocates, and what of it outlives a young-generation collection, from V8's sampling
 * heap profiler in the gateway while N raw-driver sessions make calls back to back.
 *
 *   node --import tsx bench/heap-sample.ts [--mode legacy,modern] [--sessions 32] [--calls 150] [--warmup 40]
 *                                          [--survivors] [--top 25] [--bin OTHER/bin/portcullis.js]
 *
 * The gateway runs with its inspector on a loopback port of its own; sampling (one sample per KB allocated)
 * covers the measured calls only, with the objects collected since counted too (V8 forgets them
 * otherwise), so the figures are what the calls allocated. With `--survivors`, objects that a
 * young-generation collection freed are left out: what remains is what lived through one (in flight across
 * a scavenge, or held longer), which is what the scavenges copy and promote and the old generation fills
 * with. Printed per call: the total; by owner (the gateway's own code, Node, each package, V8's built-ins
 * and code compiled at run time such as zod's parsers, which have no file, as `(native)`); by frame (where
 * the bytes were allocated); and by the innermost frame of the gateway's own code on the allocating stack
 * (what in the gateway made a library or built-in allocate). With `--bin`, that build is sampled the
 * same way after this checkout's, era by era.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI_COMPILED } from '../test/fixtures/gateway-process.js';
import { ensureCompiled } from './lib/compiled.js';
import { frameLabel, frameOwner } from './lib/cpu-profile.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { listOf, positiveInteger } from './lib/options.js';
import { openEchoGateway } from './lib/echo-gateway.js';
import { ERA_MODES, type EraMode } from './lib/eras.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Bytes between two samples: V8's default is 32 KB, too coarse for a call of about 200 KB. */
const SAMPLING_INTERVAL = 1024;

/** The parts of a sampling heap profile (`HeapProfiler.stopSampling`) this reads. */
export interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Bytes of the samples taken with this node on top of the stack. */
  selfSize: number;
  children: HeapProfileNode[];
}

export interface HeapShare {
  name: string;
  kbPerCall: number;
}

export interface HeapSummary {
  calls: number;
  kbPerCall: number;
  owners: HeapShare[];
  frames: HeapShare[];
  /** By the innermost frame of the gateway's own code on the allocating stack (absent: none on it). */
  ownFrames: HeapShare[];
}

/** Per call, heaviest first, by owner, by frame and by the gateway's innermost frame. */
export function summarizeHeapProfile(
  head: HeapProfileNode,
  options: { calls: number; root: string; top?: number },
): HeapSummary {
  const owners = new Map<string, number>();
  const frames = new Map<string, number>();
  const ownFrames = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, bytes: number): void => {
    map.set(key, (map.get(key) ?? 0) + bytes);
  };
  // Iteratively: a deep stack must not overflow this process's.
  const pending: { node: HeapProfileNode; own: string | undefined }[] = [{ node: head, own: undefined }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node } = next;
    const label = frameLabel(node.callFrame, options.root);
    const owner = frameOwner(node.callFrame);
    const own = owner === 'portcullis' ? label : next.own;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(owners, owner, node.selfSize);
      add(frames, label, node.selfSize);
      if (own !== undefined) add(ownFrames, own, node.selfSize);
    }
    for (const child of node.children) pending.push({ node: child, own });
  }
  const perCall = (bytes: number): number => Math.round((bytes / options.calls / 1024) * 100) / 100;
  const heaviest = (map: Map<string, number>, top: number): HeapShare[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, top)
      .map(([name, bytes]) => ({ name, kbPerCall: perCall(bytes) }));
  const top = options.top ?? 25;
  return {
    calls: options.calls,
    kbPerCall: perCall(total),
    owners: heaviest(owners, Number.POSITIVE_INFINITY),
    frames: heaviest(frames, top),
    ownFrames: heaviest(ownFrames, top),
  };
}

export function formatHeapSummary(summary: HeapSummary, title: string): string {
  const rows = (shares: HeapShare[]): string[] =>
    shares.map((share) => `  ${share.kbPerCall.toFixed(2).padStart(8)}  ${share.name}`);
  return [
    `${title}: ${summary.kbPerCall.toFixed(1)} KB a call over ${summary.calls} calls`,
    '  KB/call  owner',
    ...rows(summary.owners),
    '  KB/call  frame (where allocated)',
    ...rows(summary.frames),
    "  KB/call  the gateway's innermost frame on the stack",
    ...rows(summary.ownFrames),
  ].join('\n');
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspectorSession(url: string): Promise<{
  send(method: string, params?: object): Promise<Record<string, unknown>>;
  close(): void;
}> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)), { once: true });
  });
  let lastId = 0;
  const waiting = new Map<number, { resolve(value: Record<string, unknown>): void; reject(error: Error): void }>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { message: string };
    };
    const caller = message.id !== undefined ? waiting.get(message.id) : undefined;
    if (caller === undefined) return;
    waiting.delete(message.id!);
    if (message.error !== undefined) caller.reject(new Error(message.error.message));
    else caller.resolve(message.result ?? {});
  });
  return {
    send(method, params = {}) {
      const id = ++lastId;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => socket.close(),
  };
}

async function sample(options: {
  bin: string;
  mode: EraMode;
  sessions: number;
  calls: number;
  warmup: number;
  survivors: boolean;
  top: number;
}): Promise<HeapSummary> {
  const loaded = await openEchoGateway({
    bin: options.bin,
    nodeArgs: ['--inspect=127.0.0.1:0'],
    mode: options.mode,
    sessions: options.sessions,
  });
  let inspector: Awaited<ReturnType<typeof inspectorSession>> | undefined;
  try {
    const inspectorUrl = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(loaded.gateway.stderr())?.[0];
    if (inspectorUrl === undefined) throw new Error("the gateway's inspector did not say where it listens");
    inspector = await inspectorSession(inspectorUrl);
    await loaded.callEach(options.warmup);
    await inspector.send('HeapProfiler.enable');
    await inspector.send('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: !options.survivors,
    });
    await loaded.callEach(options.calls);
    const { profile } = (await inspector.send('HeapProfiler.stopSampling')) as { profile: { head: HeapProfileNode } };
    return summarizeHeapProfile(profile.head, {
      calls: options.sessions * options.calls,
      root: ROOT,
      top: options.top,
    });
  } finally {
    inspector?.close();
    await loaded.close();
  }
}

const USAGE = `usage: node --import tsx bench/heap-sample.ts [--mode legacy,modern] [--sessions 32] [--calls 150]
                                        [--warmup 40] [--survivors] [--top 25] [--bin OTHER/bin/portcullis.js]

What a tool call allocates in the gateway (with --survivors: what of it outlives a young-generation
collection), from V8's sampling heap profiler, while N raw-driver sessions make calls back to back.`;

if (isEntryPoint(import.meta.url)) {
  const { modes, counts, survivors, otherBin } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: {
        mode: { type: 'string', default: 'legacy,modern' },
        sessions: { type: 'string', default: '32' },
        calls: { type: 'string', default: '150' },
        warmup: { type: 'string', default: '40' },
        top: { type: 'string', default: '25' },
        survivors: { type: 'boolean', default: false },
        bin: { type: 'string' },
      },
    });
    return {
      modes: listOf('--mode', values.mode, ERA_MODES),
      counts: {
        sessions: positiveInteger('sessions', values.sessions),
        calls: positiveInteger('calls', values.calls),
        warmup: positiveInteger('warmup', values.warmup),
        top: positiveInteger('top', values.top),
      },
      survivors: values.survivors,
      otherBin: values.bin,
    };
  });
  const bins = [CLI_COMPILED, ...(otherBin !== undefined ? [path.resolve(otherBin)] : [])];
  ensureCompiled(ROOT, (line) => process.stderr.write(`${line}\n`));
  const what = survivors ? 'outlived a young-generation collection' : 'allocated';
  for (const mode of modes) {
    for (const bin of bins) {
      const summary = await sample({ bin, mode, survivors, ...counts });
      const title = `${mode} ${path.relative(ROOT, bin) || bin}, ${counts.sessions} sessions, ${what}`;
      process.stdout.write(`${formatHeapSummary(summary, title)}\n\n`);
    }
  }
}

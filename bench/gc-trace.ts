/**
 * What V8's garbage collector does for each tool call, from its own trace (`--trace-gc-nvp`), while the
 * gateway serves N raw-driver sessions making calls back to back.
 *
 *   node --import tsx bench/gc-trace.ts [--mode legacy,modern] [--sessions 32] [--calls 200] [--warmup 40]
 *                                       [--rounds 2] [--bin OTHER/bin/portcullis.js]
 *
 * For each build (this checkout's compiled command, and `--bin`'s when given, measured alternately), era
 * and round: the young-generation collections (scavenges) and full collections (mark-compacts) made during
 * the measured calls, the main thread's pauses for each per call, and the bytes the scavenges promoted to
 * the old generation per call. Promotion is what fills the old generation and brings on full collections
 * and V8's concurrent marking: an object is promoted when it is still reachable at its second scavenge,
 * or is reachable then from the old generation at all (a scavenge takes every old-generation reference as
 * a root, from dead objects too).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI_COMPILED } from '../test/fixtures/gateway-process.js';
import { ensureCompiled } from './lib/compiled.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { listOf, positiveInteger } from './lib/options.js';
import { openEchoGateway } from './lib/echo-gateway.js';
import { writeLargePolicyFile } from './lib/large-policy.js';
import { ERA_MODES, type EraMode } from './lib/eras.js';
import { median } from './lib/rounds.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The collections of one kind in a stretch of the trace. */
export interface CollectionFigures {
  count: number;
  pauseMs: number;
  promotedBytes: number;
}

/** Scavenges and mark-compacts in `--trace-gc-nvp` output (one `key=value` line per collection). */
export function parseGcTrace(text: string): { scavenges: CollectionFigures; markCompacts: CollectionFigures } {
  const scavenges: CollectionFigures = { count: 0, pauseMs: 0, promotedBytes: 0 };
  const markCompacts: CollectionFigures = { count: 0, pauseMs: 0, promotedBytes: 0 };
  for (const line of text.split('\n')) {
    const kind = /\bgc=(\w+)\b/.exec(line)?.[1];
    const figures = kind === 's' ? scavenges : kind === 'mc' ? markCompacts : undefined;
    if (figures === undefined) continue;
    figures.count++;
    figures.pauseMs += Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0);
    figures.promotedBytes += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { scavenges, markCompacts };
}

export interface GcRun {
  build: string;
  mode: EraMode;
  calls: number;
  callsPerSecond: number;
  scavenges: CollectionFigures;
  markCompacts: CollectionFigures;
}

async function measure(
  bin: string,
  mode: EraMode,
  counts: { sessions: number; calls: number; warmup: number },
  policyFile: string | undefined,
): Promise<GcRun> {
  const { sessions, calls, warmup } = counts;
  const loaded = await openEchoGateway({
    bin,
    nodeArgs: ['--trace-gc-nvp'],
    mode,
    sessions,
    ...(policyFile !== undefined ? { policyFile } : {}),
  });
  try {
    await loaded.callEach(warmup);
    const from = loaded.gateway.stdout().length;
    const started = performance.now();
    await loaded.callEach(calls);
    const seconds = (performance.now() - started) / 1000;
    const trace = parseGcTrace(loaded.gateway.stdout().slice(from));
    const total = sessions * calls;
    return { build: bin, mode, calls: total, callsPerSecond: total / seconds, ...trace };
  } finally {
    await loaded.close();
  }
}

const perCall = (run: GcRun, value: number): number => value / run.calls;

export function formatGcRun(run: GcRun): string {
  const { scavenges: s, markCompacts: m } = run;
  return [
    `${run.mode.padEnd(6)} ${path.relative(ROOT, run.build) || run.build}: ${run.calls} calls, ${Math.round(run.callsPerSecond)}/s;`,
    `scavenges ${s.count} (pause ${(perCall(run, s.pauseMs) * 1000).toFixed(1)} µs a call, promoted ${(perCall(run, s.promotedBytes) / 1024).toFixed(1)} KB a call);`,
    `mark-compacts ${m.count} (pause ${(perCall(run, m.pauseMs) * 1000).toFixed(1)} µs a call)`,
  ].join(' ');
}

const USAGE = `usage: node --import tsx bench/gc-trace.ts [--mode legacy,modern] [--sessions 32] [--calls 200]
                                     [--warmup 40] [--rounds 2] [--large-policy] [--bin OTHER/bin/portcullis.js]

V8's collections a tool call costs the gateway (its --trace-gc-nvp), while it serves N raw-driver sessions
making calls back to back; with --large-policy, serving the 10,000-rule policy of portcullis-10k-rules;
with --bin, that build as well, measured alternately.`;

if (isEntryPoint(import.meta.url)) {
  const { modes, rounds, counts, largePolicy, otherBin } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: {
        mode: { type: 'string', default: 'legacy,modern' },
        sessions: { type: 'string', default: '32' },
        calls: { type: 'string', default: '200' },
        warmup: { type: 'string', default: '40' },
        rounds: { type: 'string', default: '2' },
        'large-policy': { type: 'boolean', default: false },
        bin: { type: 'string' },
      },
    });
    return {
      modes: listOf('--mode', values.mode, ERA_MODES),
      rounds: positiveInteger('rounds', values.rounds),
      counts: {
        sessions: positiveInteger('sessions', values.sessions),
        calls: positiveInteger('calls', values.calls),
        warmup: positiveInteger('warmup', values.warmup),
      },
      largePolicy: values['large-policy'],
      otherBin: values.bin,
    };
  });
  const bins = [CLI_COMPILED, ...(otherBin !== undefined ? [path.resolve(otherBin)] : [])];
  ensureCompiled(ROOT, (line) => process.stderr.write(`${line}\n`));
  const policy = largePolicy ? await writeLargePolicyFile() : undefined;
  const runs: GcRun[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        // Alternately, so the machine's drift falls on every build alike.
        for (const bin of round % 2 === 0 ? bins : [...bins].reverse()) {
          const run = await measure(bin, mode, counts, policy?.file);
          runs.push(run);
          process.stdout.write(`${formatGcRun(run)}\n`);
        }
      }
    }
  } finally {
    await policy?.remove();
  }
  process.stdout.write('\nmedians over the rounds, per build and era:\n');
  for (const bin of bins) {
    for (const mode of modes) {
      const mine = runs.filter((r) => r.build === bin && r.mode === mode);
      const m = (pick: (r: GcRun) => number): number => median(mine.map(pick));
      process.stdout.write(
        `${mode.padEnd(6)} ${path.relative(ROOT, bin) || bin}: promoted ${(m((r) => perCall(r, r.scavenges.promotedBytes)) / 1024).toFixed(1)} KB a call, scavenge pause ${(m((r) => perCall(r, r.scavenges.pauseMs)) * 1000).toFixed(1)} µs a call, mark-compacts ${m((r) => r.markCompacts.count)} per ${mine[0]?.calls ?? 0} calls\n`,
      );
    }
  }
}

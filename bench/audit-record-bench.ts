/**
 * What sealing an audit record costs, per record: the chain fields, the hash over its canonical JSON and
 * the JSONL line (every tool call writes two: the write-ahead record and the outcome), as the record object
 * and its line (`sealRecord` + `serialiseRecord`) and as the line alone, which is how the audit file writes
 * it (`sealLine`), in alternating loops. Also the canonical hash of a call's arguments, made once per call.
 * Medians of several timed loops, in microseconds.
 */
import { sealLine, sealRecord, serialiseRecord, type AuditChainHead } from '../gateway/services/audit/chain.js';
import type { AuditRecordInput } from '../gateway/services/audit/types.js';
import { canonicalHash } from '../gateway/kernel/index.js';
import { median } from './lib/rounds.js';
import { nanosPerIteration } from './lib/stats.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface AuditRecordBenchResult {
  loops: number;
  perLoop: number;
  /** Median microseconds to seal a call.intent-sized record and serialise its line. */
  sealMicros: number;
  /** The same record sealed straight to its line (`sealLine`), as the audit file does. */
  sealLineMicros: number;
  /** Median of the loops' paired ratios, `sealLine` over `sealRecord` + `serialiseRecord`. */
  sealLineRatio: number;
  /** Median microseconds for the canonical hash of a small argument object. */
  argsHashMicros: number;
}

const RECORD: AuditRecordInput = {
  event: 'call.intent',
  agentId: 'bench-agent',
  taskId: 'task_8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e',
  sessionId: '1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8b',
  callId: '9a8b7c6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d',
  tool: 'echo_echo',
  argsHash: 'a'.repeat(64),
  traceId: 'b'.repeat(32),
  decision: 'allow',
  rules: ['allow-echo'],
  policyVersion: 'sha256:0123456789abcdef',
  detail: { operation: 'tools/call' },
};
const ARGS = { text: 'hello portcullis', count: 3, tags: ['a', 'b'] };

const microsPerIteration = (iterations: number, body: () => void): number => nanosPerIteration(iterations, body) / 1000;

export async function runAuditRecordBench(
  options: { loops?: number; perLoop?: number } = {},
): Promise<AuditRecordBenchResult> {
  const loops = options.loops ?? 5;
  const perLoop = options.perLoop ?? 20_000;
  let head: AuditChainHead = { seq: 0, hash: '0'.repeat(64) };
  const now = new Date();
  let lineBytes = 0;
  const seal = (): void => {
    const record = sealRecord(RECORD, head, now);
    head = { seq: record.seq, hash: record.hash };
    lineBytes += serialiseRecord(record).length;
  };
  const sealToLine = (): void => {
    const sealed = sealLine(RECORD, head, now);
    head = { seq: sealed.seq, hash: sealed.hash };
    lineBytes += sealed.line.length;
  };
  let digest = '';
  const hashArgs = (): void => {
    digest = canonicalHash(ARGS);
  };
  // Warm-up: compiled code, not the interpreter.
  microsPerIteration(perLoop, seal);
  microsPerIteration(perLoop, sealToLine);
  microsPerIteration(perLoop, hashArgs);
  const sealTimes: number[] = [];
  const sealLineTimes: number[] = [];
  const hashTimes: number[] = [];
  for (let i = 0; i < loops; i++) {
    sealTimes.push(microsPerIteration(perLoop, seal));
    sealLineTimes.push(microsPerIteration(perLoop, sealToLine));
    hashTimes.push(microsPerIteration(perLoop, hashArgs));
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Keep the results observable so the loops cannot be optimised away.
  if (lineBytes === 0 || digest.length !== 64) throw new Error('audit record bench produced nothing');
  const round = (n: number): number => Math.round(n * 100) / 100;
  return {
    loops,
    perLoop,
    sealMicros: round(median(sealTimes)),
    sealLineMicros: round(median(sealLineTimes)),
    sealLineRatio: round(median(sealLineTimes.map((t, i) => t / sealTimes[i]!))),
    argsHashMicros: round(median(hashTimes)),
  };
}

const USAGE = `usage: node --import tsx bench/audit-record-bench.ts

What sealing an audit record costs, as the record object and its line and as the line alone (µs a
record, medians), and the canonical hash of a call's arguments.`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(await runAuditRecordBench(), null, 2));
}

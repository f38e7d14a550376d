/**
 * Offline verification of a JSONL audit log written by the file sink.
 *
 * Every line is parsed and its hash recomputed; then the records are checked as a chain: sequence numbers
 * must run 1, 2, 3... in file order without gaps or repeats, and each record's `prev` must be the hash of
 * the record before it. Each kind of tampering leaves a distinct trace:
 * - edited:    a record's content no longer matches its hash, or (when the editor recomputed that hash)
 *              the next record's `prev` no longer matches it, or the record at the checkpoint differs.
 * - removed:   a gap in the sequence numbers.
 * - inserted:  a second record claiming a sequence number that is already taken.
 * - reordered: records out of sequence order (the fewest moved records that explain the order are named).
 * - truncated: the log ends before the sequence number recorded in the checkpoint. Without a checkpoint,
 *              records cut off the end cannot be told from records never written.
 * - malformed: a line that is not a JSON audit record, or a last line without its newline.
 * Separately from tampering, calls whose write-ahead decision (`call.intent`) has no outcome record
 * (`tool.call`, `resource.read`, ... with the same `callId`) are listed as in doubt: the call may or may not have reached its
 * backend (a crash, a kill, or an audit outage between the two records). That is not a broken chain.
 * The chain uses no key: someone able to rewrite the whole file can recompute every hash. Checkpoints kept
 * where that someone cannot write are what pins the history down.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { AuditError } from './errors.js';
import { CheckpointFormatError, readCheckpoint, type AuditCheckpoint } from './checkpoint.js';
import { computeRecordHash, GENESIS_HASH, isChainedRecord, lineHashChecks } from './chain.js';

export type AuditProblemKind = 'edited' | 'removed' | 'reordered' | 'truncated' | 'malformed' | 'inserted';

export interface AuditProblem {
  /** The file of the set the line is in (absent for a problem with the checkpoint file itself). */
  file?: string;
  /** 1-based line in that file (0 for a problem with the checkpoint file itself). */
  line: number;
  seq?: number;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Lines that parsed as audit records. */
  records: number;
  /** Lines in the files. */
  lines: number;
  /** The files read, in chain order. */
  files: string[];
  /** Highest sequence number of a genuine record (0 for an empty log). */
  lastSeq: number;
  checkpoint?: AuditCheckpoint;
  problems: AuditProblem[];
  /** Decisions recorded ahead of a call with no outcome record after them, in file order. */
  inDoubt: InDoubtCall[];
}

export interface InDoubtCall {
  /** The file of a rotated set the intent is in (absent for a single file). */
  file?: string;
  /** 1-based line in that file. */
  line: number;
  seq: number;
  callId: string;
  tool?: string;
  agentId?: string;
  ts?: string;
}

export interface VerifyAuditLogOptions {
  checkpointFile?: string;
}

interface Entry {
  line: number;
  seq: number;
  prev: string;
  hash: string;
  /** The hash of the record's content as read: equal to `hash` for an untouched record. */
  contentHash: string;
  hashOk: boolean;
}

/**
 * Verify a log file. Resolves with the findings (tampering is a finding, not an exception); rejects with
 * AuditError AUDIT_IO_ERROR when the log or the named checkpoint cannot be read.
 */
export async function verifyAuditLog(file: string, options: VerifyAuditLogOptions = {}): Promise<AuditVerifyResult> {
  return verifyAuditFiles([file], options);
}

/**
 * Verify the files of a rotated log (segments.ts: `listAuditFiles`), in chain order, as one chain: the
 * first record of each file must continue the last record of the file before it. A missing file shows
 * as missing records at a file boundary, a reordered file as records out of order, an edited file as
 * records that do not match their hashes or links. Line numbers in problems are per file.
 */
export async function verifyAuditFiles(
  files: readonly string[],
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerifyResult> {
  if (files.length === 0) throw new AuditError('AUDIT_IO_ERROR', 'no audit log files to verify');
  const problems: AuditProblem[] = [];
  const entries: Entry[] = [];
  /** Global line number of each file's first line, to report problems per file. */
  const starts: { file: string; first: number }[] = [];
  let lines = 0;
  const intents = new Map<string, InDoubtCall>();
  for (const file of files) {
    starts.push({ file, first: lines + 1 });
    lines = await readLines(file, lines, entries, problems, intents);
  }
  const firstLines = new Set(starts.map((s) => s.first));

  const genuine = dropInsertions(entries, problems);
  const bySeq = new Map(genuine.map((e) => [e.seq, e]));

  for (const entry of genuine) {
    if (!entry.hashOk) {
      problems.push({
        line: entry.line,
        seq: entry.seq,
        kind: 'edited',
        message: `record seq ${entry.seq} does not match its hash`,
      });
    }
    if (entry.seq === 1) {
      if (entry.prev !== GENESIS_HASH) {
        problems.push({
          line: entry.line,
          seq: 1,
          kind: 'edited',
          message: 'first record does not start the chain (prev is not 64 zeros)',
        });
      }
      continue;
    }
    const before = bySeq.get(entry.seq - 1);
    if (before !== undefined && entry.prev !== before.hash) {
      problems.push({
        line: entry.line,
        seq: entry.seq,
        kind: 'edited',
        message: `record seq ${entry.seq} does not link to seq ${before.seq} (line ${before.line}): one of them was altered and rehashed`,
      });
    }
  }

  for (const entry of movedEntries(genuine)) {
    problems.push({
      line: entry.line,
      seq: entry.seq,
      kind: 'reordered',
      message: `record seq ${entry.seq} is out of sequence order`,
    });
  }

  const seqs = genuine.map((e) => e.seq).sort((a, b) => a - b);
  let expected = 1;
  for (const seq of seqs) {
    if (seq > expected) {
      const after = bySeq.get(seq)!;
      const range = seq - 1 === expected ? `seq ${expected} is` : `seq ${expected}..${seq - 1} are`;
      const atBoundary = files.length > 1 && firstLines.has(after.line);
      problems.push({
        line: after.line,
        seq: expected,
        kind: 'removed',
        message: `record ${range} missing (before seq ${seq})${atBoundary ? ': a file of the set is missing or was cut short' : ''}`,
      });
    }
    expected = seq + 1;
  }
  const lastSeq = seqs.length > 0 ? seqs[seqs.length - 1]! : 0;

  let checkpoint: AuditCheckpoint | undefined;
  if (options.checkpointFile !== undefined) {
    try {
      checkpoint = await readCheckpoint(options.checkpointFile);
    } catch (error) {
      if (!(error instanceof CheckpointFormatError))
        throw ioError(`cannot read audit checkpoint ${options.checkpointFile}`, error);
      problems.push({ line: 0, kind: 'malformed', message: error.message });
    }
    if (checkpoint === undefined && !problems.some((p) => p.line === 0)) {
      throw new AuditError('AUDIT_IO_ERROR', `audit checkpoint ${options.checkpointFile} does not exist`);
    }
    if (checkpoint !== undefined) {
      if (checkpoint.seq > lastSeq) {
        problems.push({
          line: lines + 1,
          seq: lastSeq + 1,
          kind: 'truncated',
          message: `log ends at seq ${lastSeq} but the checkpoint (${checkpoint.ts}) records seq ${checkpoint.seq}: records were cut off the end`,
        });
      } else {
        const atCheckpoint = bySeq.get(checkpoint.seq);
        if (atCheckpoint !== undefined && atCheckpoint.hash !== checkpoint.hash) {
          problems.push({
            line: atCheckpoint.line,
            seq: checkpoint.seq,
            kind: 'edited',
            message: `record seq ${checkpoint.seq} differs from the checkpoint: the log was rewritten from this record on or before`,
          });
        }
      }
    }
  }

  problems.sort((a, b) => a.line - b.line);
  const located = problems.map((problem) => locate(problem, starts));
  return {
    ok: problems.length === 0,
    records: entries.length,
    lines,
    files: [...files],
    lastSeq,
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    problems: located,
    inDoubt: [...intents.values()].map((call) => {
      const at = inFile(call.line, starts);
      return { ...call, ...(files.length > 1 ? { file: at.file } : {}), line: at.line };
    }),
  };
}

/** A problem's global line as file + line in that file (checkpoint problems stay at line 0). */
function locate(problem: AuditProblem, starts: readonly { file: string; first: number }[]): AuditProblem {
  return problem.line === 0 ? problem : { ...problem, ...inFile(problem.line, starts) };
}

/** A global line number (1 or more) as the file it is in and the line in that file. */
function inFile(line: number, starts: readonly { file: string; first: number }[]): { file: string; line: number } {
  let owner = starts[0]!;
  for (const start of starts) if (start.first <= line) owner = start;
  return { file: owner.file, line: line - owner.first + 1 };
}

/** Reads one file of the set into `entries`, numbering its lines after `before`; returns the last line number. */
async function readLines(
  file: string,
  before: number,
  entries: Entry[],
  problems: AuditProblem[],
  intents: Map<string, InDoubtCall>,
): Promise<number> {
  let lines = before;
  let endsWithNewline: boolean;
  try {
    endsWithNewline = await fileEndsWithNewline(file);
    const input = createReadStream(file, { encoding: 'utf8' });
    const reader = createInterface({ input, crlfDelay: Infinity });
    for await (const text of reader) {
      lines++;
      const record = parseLine(text);
      if (record === undefined) {
        problems.push({
          line: lines,
          kind: 'malformed',
          message: text === '' ? 'empty line' : 'not a JSON audit record',
        });
        continue;
      }
      trackIntent(intents, record, lines);
      const hashOk = lineHashChecks(text, record);
      entries.push({
        line: lines,
        seq: record.seq,
        prev: record.prev,
        hash: record.hash,
        contentHash: hashOk ? record.hash : computeRecordHash(record),
        hashOk,
      });
    }
  } catch (error) {
    throw ioError(`cannot read audit log ${file}`, error);
  }
  if (!endsWithNewline && lines > before) {
    const already = problems.some((p) => p.line === lines);
    if (!already)
      problems.push({
        line: lines,
        kind: 'malformed',
        message: 'last line has no newline (interrupted write or truncation)',
      });
  }
  return lines;
}

/** An intent opens a call, its outcome record closes it; what is still open at the end is in doubt. */
function trackIntent(intents: Map<string, InDoubtCall>, record: Record<string, unknown>, line: number): void {
  const callId = record['callId'];
  if (typeof callId !== 'string') return;
  if (record['event'] === 'call.intent') {
    const text = (key: string): Record<string, string> =>
      typeof record[key] === 'string' ? { [key]: record[key] } : {};
    intents.set(callId, {
      line,
      seq: record['seq'] as number,
      callId,
      ...text('tool'),
      ...text('agentId'),
      ...text('ts'),
    });
  } else {
    // The outcome record (tool.call, resource.read, prompt.get, ...) carries the same callId.
    intents.delete(callId);
  }
}

/**
 * Among records sharing a sequence number, keep the one that belongs to the chain (its hash checks out
 * and a later record links to it, or failing that, it links to its predecessor); report the rest as
 * inserted.
 */
function dropInsertions(entries: Entry[], problems: AuditProblem[]): Entry[] {
  const groups = new Map<number, Entry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.seq);
    if (group === undefined) groups.set(entry.seq, [entry]);
    else group.push(entry);
  }
  const referenced = new Set(entries.map((e) => e.prev));
  const hashes = new Set(entries.map((e) => e.hash));
  const inserted = new Set<Entry>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const keep =
      group.find((e) => e.hashOk && referenced.has(e.hash)) ??
      group.find((e) => e.hashOk && (e.seq === 1 ? e.prev === GENESIS_HASH : hashes.has(e.prev))) ??
      group[0]!;
    for (const entry of group) {
      if (entry === keep) continue;
      inserted.add(entry);
      // A copy only when the content is the same too: an edited record may keep the hash it claimed.
      const copy =
        entry.hash === keep.hash && entry.contentHash === keep.contentHash
          ? `a copy of line ${keep.line}`
          : `a second record claiming seq ${entry.seq} (line ${keep.line} holds it)`;
      problems.push({ line: entry.line, seq: entry.seq, kind: 'inserted', message: `${copy}` });
    }
  }
  return entries.filter((e) => !inserted.has(e));
}

/** Entries outside one longest increasing run of sequence numbers: the fewest moves that explain the order. */
function movedEntries(entries: Entry[]): Entry[] {
  // Patience sorting: tails[k] = index of the smallest tail of an increasing subsequence of length k + 1.
  const tails: number[] = [];
  const parent = new Array<number>(entries.length).fill(-1);
  for (let i = 0; i < entries.length; i++) {
    const seq = entries[i]!.seq;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entries[tails[mid]!]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) parent[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const inRun = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i !== -1; i = parent[i]!) inRun.add(i);
  return entries.filter((_, i) => !inRun.has(i));
}

function parseLine(text: string): ({ seq: number; prev: string; hash: string } & Record<string, unknown>) | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isChainedRecord(value)
      ? (value as unknown as { seq: number; prev: string; hash: string } & Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function fileEndsWithNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const buffer = Buffer.alloc(1);
    await handle.read(buffer, 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function ioError(what: string, error: unknown): AuditError {
  return new AuditError('AUDIT_IO_ERROR', `${what}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
    cause: error,
  });
}

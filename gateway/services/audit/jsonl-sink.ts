/**
 * The file audit sink: an append-only JSONL log, one hash-chained record per line (see chain.ts).
 *
 * Durability contract:
 * - `per-record`: `append` resolves once its line is written and fdatasync'd. Appends that queue up while
 *   a write is in flight are written together with one write + one sync (group commit), so concurrent
 *   callers share the cost of the sync instead of waiting in line for their own.
 * - `batched`: `append` resolves once the batch holding it is written and synced, at most `batchMs`
 *   after the first record of the batch was queued.
 * Records are sealed (seq, prev, hash) in `append` call order and written in that order by one writer, so
 * the file order is the chain order. `flush()` writes everything queued now; `close()` does the same,
 * writes a final checkpoint and closes the file: nothing queued or acknowledged is lost on shutdown.
 *
 * Fail closed: if a write, sync or checkpoint fails, every queued and future append rejects with
 * AUDIT_WRITE_FAILED (a chain with a hole in it would be worse than a loud failure). On open, an existing
 * log is continued from its last record only after that record, its link to the one before and the
 * checkpoint (when configured) check out; otherwise the sink refuses to start with AUDIT_CHAIN_CORRUPT.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AuditError } from './errors.js';
import { CheckpointFormatError, readCheckpoint, syncDirectory, writeCheckpoint } from './checkpoint.js';
import {
  computeRecordHash,
  EMPTY_HEAD,
  isChainedRecord,
  sealRecord,
  serialiseRecord,
  type AuditChainHead,
} from './chain.js';
import { readFileTail } from './tail.js';
import type { AuditRecord, AuditRecordInput, AuditSink } from './types.js';

export interface JsonlAuditSinkOptions {
  file: string;
  durability: 'per-record' | 'batched';
  /** Longest time a record waits for its batch in `batched` mode. Default 50. */
  batchMs?: number;
  /** Where to keep the chain head, for truncation checks. Absent: no checkpoints. */
  checkpointFile?: string;
  /** Write the checkpoint after this many durable records (and always on close). Default 100. */
  checkpointEvery?: number;
  now?: () => Date;
  /**
   * The chain this file continues (a rotated log: the head of the previous file). An empty file starts
   * from it instead of the genesis, and a file holding one record must link to it. Default: the genesis.
   */
  continueFrom?: AuditChainHead;
  /**
   * Receives each batch of lines once it is durable, before its appends resolve (an export to a log
   * shipper). Must not throw; it is never given a record that is not in the file.
   */
  onDurable?: (lines: string) => void;
}

export interface JsonlAuditSink extends AuditSink {
  /** Head of the chain including records sealed but not yet durable. */
  head(): AuditChainHead;
}

interface Pending {
  line: string;
  seq: number;
  hash: string;
  ts: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export async function createJsonlAuditSink(options: JsonlAuditSinkOptions): Promise<JsonlAuditSink> {
  const batchMs = options.batchMs ?? 50;
  const checkpointEvery = options.checkpointEvery ?? 100;
  if (!Number.isFinite(batchMs) || batchMs < 0) throw new RangeError('batchMs must be a non-negative number');
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1)
    throw new RangeError('checkpointEvery must be a positive integer');
  const now = options.now ?? (() => new Date());
  const { file, checkpointFile, durability } = options;

  let handle: FileHandle;
  try {
    handle = await open(file, 'a+', 0o640);
  } catch (error) {
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot open audit log ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
  let head: AuditChainHead;
  try {
    head = await readExistingHead(handle, file, options.continueFrom ?? EMPTY_HEAD);
    // A new log's directory entry must be durable too, or a crash could lose the whole file.
    if (head.seq === 0) await syncDirectory(path.dirname(file));
    if (checkpointFile !== undefined) await checkAgainstCheckpoint(head, file, checkpointFile);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }

  let durable: AuditChainHead & { ts?: string } = { ...head };
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let flushWanted = false;
  let failure: AuditError | undefined;
  let closing: Promise<void> | undefined;
  let lastAppend: Promise<void> = Promise.resolve();
  let sinceCheckpoint = 0;

  function fail(error: AuditError): void {
    failure ??= error;
    const dropped = queue;
    queue = [];
    for (const pending of dropped) pending.reject(failure);
  }

  function kick(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (writing === undefined && queue.length > 0) {
      writing = drain().finally(() => {
        writing = undefined;
      });
    }
  }

  function schedule(): void {
    if (durability === 'per-record' || flushWanted || closing !== undefined) {
      // Defer to a microtask so appends made in the same tick share one write + sync.
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(() => {
          scheduled = false;
          kick();
        });
      }
    } else if (timer === undefined && writing === undefined) {
      timer = setTimeout(kick, batchMs);
    }
  }

  /** The one writer. Never throws: failures go through fail(). */
  async function drain(): Promise<void> {
    while (queue.length > 0 && failure === undefined) {
      const batch = queue;
      queue = [];
      try {
        await handle.appendFile(batch.map((p) => p.line).join(''), 'utf8');
        // fdatasync covers the data and the new file size, which is all a reader needs.
        await handle.datasync();
      } catch (error) {
        const failed = new AuditError(
          'AUDIT_WRITE_FAILED',
          `audit log write failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
          { cause: error },
        );
        for (const pending of batch) pending.reject(failed);
        fail(failed);
        return;
      }
      const last = batch[batch.length - 1]!;
      durable = { seq: last.seq, hash: last.hash, ts: last.ts };
      options.onDurable?.(batch.map((p) => p.line).join(''));
      sinceCheckpoint += batch.length;
      for (const pending of batch) pending.resolve();
      if (checkpointFile !== undefined && sinceCheckpoint >= checkpointEvery) {
        sinceCheckpoint = 0;
        const ok = await checkpointNow();
        if (!ok) return;
      }
      if (queue.length === 0) flushWanted = false;
      if (durability === 'batched' && !flushWanted && closing === undefined) {
        // Records that arrived during the write start a new batch window.
        if (queue.length > 0) timer = setTimeout(kick, batchMs);
        return;
      }
    }
  }

  async function checkpointNow(): Promise<boolean> {
    if (checkpointFile === undefined || durable.ts === undefined) return true;
    try {
      await writeCheckpoint(checkpointFile, { seq: durable.seq, hash: durable.hash, ts: durable.ts });
      return true;
    } catch (error) {
      fail(
        new AuditError(
          'AUDIT_WRITE_FAILED',
          `audit checkpoint write failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
          { cause: error },
        ),
      );
      return false;
    }
  }

  /** Wait until nothing is queued or being written. */
  async function settle(): Promise<void> {
    for (;;) {
      if (writing !== undefined) await writing;
      else if (queue.length > 0 && failure === undefined) kick();
      else return;
    }
  }

  return {
    head: () => ({ seq: head.seq, hash: head.hash }),

    append(input: AuditRecordInput): Promise<void> {
      if (closing !== undefined) return Promise.reject(new AuditError('AUDIT_SINK_CLOSED', 'audit sink is closed'));
      if (failure !== undefined) return Promise.reject(failure);
      let record: AuditRecord;
      try {
        record = sealRecord(input, head, now());
      } catch (error) {
        // e.g. a BigInt or a cycle in `detail`: reject this record without touching the chain.
        return Promise.reject(new TypeError('audit record is not JSON-serialisable', { cause: error }));
      }
      head = { seq: record.seq, hash: record.hash };
      const line = serialiseRecord(record);
      const promise = new Promise<void>((resolve, reject) => {
        queue.push({ line, seq: record.seq, hash: record.hash, ts: record.ts, resolve, reject });
      });
      lastAppend = promise;
      schedule();
      return promise;
    },

    async flush(): Promise<void> {
      if (failure !== undefined) throw failure;
      const waitFor = lastAppend;
      if (queue.length > 0) {
        flushWanted = true;
        kick();
      }
      await waitFor;
    },

    close(): Promise<void> {
      closing ??= (async () => {
        flushWanted = true;
        await settle();
        try {
          if (failure === undefined && durable.seq > 0 && sinceCheckpoint > 0) await checkpointNow();
        } finally {
          await handle.close().catch(() => undefined);
        }
        if (failure !== undefined) throw failure;
      })();
      return closing;
    },
  };
}

/**
 * The head to continue from: the last line must be a complete record whose hash checks out and which
 * links to the line before it. Anything else means the log was damaged or tampered with, and appending
 * would fork the chain silently.
 */
async function readExistingHead(handle: FileHandle, file: string, start: AuditChainHead): Promise<AuditChainHead> {
  let tail;
  try {
    tail = await readFileTail(handle, 2);
  } catch (error) {
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot read audit log ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
  if (tail.size === 0) return { seq: start.seq, hash: start.hash };
  const refuse = (why: string): AuditError =>
    new AuditError(
      'AUDIT_CHAIN_CORRUPT',
      `audit log ${file} ${why}; refusing to append to it (run \`portcullis audit verify\` and repair or move the file)`,
    );
  if (!tail.endsWithNewline) throw refuse('ends with an incomplete line (interrupted write or truncation)');
  const lastLine = tail.lines[tail.lines.length - 1];
  if (lastLine === undefined) throw refuse('has no complete record at its end');
  const last = parseRecord(lastLine);
  if (last === undefined) throw refuse('ends with a line that is not an audit record');
  if (computeRecordHash(last) !== last.hash)
    throw refuse(`has a last record (seq ${last.seq}) whose hash does not match its content`);
  const previousLine = tail.lines.length >= 2 ? tail.lines[tail.lines.length - 2] : undefined;
  if (previousLine !== undefined) {
    const previous = parseRecord(previousLine);
    if (previous === undefined || previous.hash !== last.prev || previous.seq + 1 !== last.seq) {
      throw refuse(`has a last record (seq ${last.seq}) that does not link to the record before it`);
    }
  } else if (
    Buffer.byteLength(lastLine, 'utf8') + 1 === tail.size &&
    (last.seq !== start.seq + 1 || last.prev !== start.hash)
  ) {
    throw refuse(
      start.seq === 0
        ? 'holds a single record that is not the start of a chain'
        : `holds a single record that does not continue the previous file (seq ${start.seq})`,
    );
  }
  return { seq: last.seq, hash: last.hash };
}

async function checkAgainstCheckpoint(head: AuditChainHead, file: string, checkpointFile: string): Promise<void> {
  let checkpoint;
  try {
    checkpoint = await readCheckpoint(checkpointFile);
  } catch (error) {
    if (error instanceof CheckpointFormatError)
      throw new AuditError('AUDIT_CHAIN_CORRUPT', `${error.message}; refusing to append to ${file}`);
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot read audit checkpoint ${checkpointFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
  if (checkpoint === undefined) return;
  if (checkpoint.seq > head.seq) {
    throw new AuditError(
      'AUDIT_CHAIN_CORRUPT',
      `audit log ${file} ends at seq ${head.seq} but its checkpoint records seq ${checkpoint.seq}: records were cut off; refusing to append to it`,
    );
  }
  if (checkpoint.seq === head.seq && checkpoint.hash !== head.hash) {
    throw new AuditError(
      'AUDIT_CHAIN_CORRUPT',
      `audit log ${file} does not match its checkpoint at seq ${head.seq}; refusing to append to it`,
    );
  }
}

function parseRecord(line: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isChainedRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

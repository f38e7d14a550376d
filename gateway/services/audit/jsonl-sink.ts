/**
 * The file audit sink: an append-only JSONL log, one hash-chained record per line (see chain.ts).
 *
 * Durability contract:
 * - `per-record` (default): `append` resolves once its line is written and synced. Appends that queue
 *   up while a write is in flight are written together with one synced write (group commit), so
 *   concurrent callers share the cost of the sync instead of waiting in line for their own.
 * A synced write is one `write` on a descriptor opened with O_DSYNC where the platform has it: the same
 * guarantee as `write` followed by `fdatasync` (the data and the file size are on disk when it returns),
 * in one system call and one trip through libuv's thread pool instead of two. Elsewhere it is exactly
 * that pair.
 * - `batched`: the same acknowledgement, but under load syncs are spaced at least `batchMs` apart so more
 *   records share each one. An append to an idle sink is written at once: no fixed wait is added.
 * - A `deferrable` append (per-record mode) to an idle sink waits up to `deferMs` for the next append, so
 *   that one synced write serves both: a record nobody waits for before answering (an outcome record with
 *   `flushBeforeResponse: false`) rides with the next call's write-ahead record instead of holding that
 *   record up behind a write of its own. Its promise still resolves only once it is durable.
 * - When the process is idle, a write is made inline: if the event loop has waited for work for at least
 *   `idleGapMs` since the sink's last write, or the sink has not written yet (a file just opened, at start or
 *   by a rotation, writes its first record as the idle process it is in would), or the process has been
 *   serving one call at a time lately (`servingAlone`: a request that was already waiting when the last call
 *   was answered leaves the loop no time to wait, and holds up nothing else), and nothing else is in progress
 *   that the write would hold up (`othersInProgress`: the gateway says so while it serves more than one
 *   call), the synced write is made on the event loop's thread (a blocking `write`) instead of being handed
 *   to libuv's thread pool, because waking a pool thread and then the event loop costs more than the write
 *   itself on an idle machine. Under load writes go to the pool, where the loop goes on serving calls during
 *   the sync and group commit gathers what arrives meanwhile: a loaded loop still waits now and then (for its
 *   backends, for its agents), but a blocking write then holds up every call that becomes ready meanwhile,
 *   for as long as the disk takes. An inline write that takes `slowInlineMs` or longer (a slow or stalled
 *   disk) stops inline writes for `inlinePauseMs`, so a slow disk blocks the event loop for at most one write
 *   now and then. The durability guarantee is the same either way.
 * Records are sealed (seq, prev, hash) in `append` call order and written in that order by one writer, so
 * the file order is the chain order. `flush()` writes everything queued now; `close()` does the same,
 * writes a final checkpoint and closes the file: nothing queued or acknowledged is lost on shutdown.
 *
 * Fail closed, recover by itself: if a write or sync fails (a full disk), the records in it and every
 * queued record are refused (AUDIT_WRITE_FAILED), the chain head goes back to the last durable record and
 * the file is cut back to its end before the next write, so no hole or fork is ever written. While the
 * outage lasts, appends are refused at once (AUDIT_UNAVAILABLE) and `status()` says so; every `retryMs`
 * the sink tries to write an `audit.recovered` record, and once that works it accepts records again.
 *
 * On open, an incomplete final line (a crash mid-write: never acknowledged) is cut off and an
 * `audit.repair` record says how many bytes were dropped. The log is then continued from its last record
 * only after that record, its link to the one before and the checkpoint (when configured) check out;
 * otherwise the sink refuses to start with AUDIT_CHAIN_CORRUPT (that is damage or tampering, not a crash).
 */
import { constants, fdatasyncSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AuditError } from './errors.js';
import { writeFully, writeFullyNow } from './full-write.js';
import { CheckpointFormatError, openCheckpointWriter, readCheckpoint, syncDirectory } from './checkpoint.js';
import {
  EMPTY_HEAD,
  isChainedRecord,
  lineHashChecks,
  sealLine,
  type AuditChainHead,
  type SealedLine,
} from './chain.js';
import { readFileTail } from './tail.js';
import type {
  AppendOptions,
  AuditRecord,
  AuditRecordInput,
  AuditSink,
  AuditSinkStatus,
  AuditWriteStats,
} from './types.js';

export interface JsonlAuditSinkOptions {
  file: string;
  durability: 'per-record' | 'batched';
  /**
   * `batched` only: the shortest spacing between two syncs while records keep arriving. A record that
   * arrives when the sink is idle is written at once; only under load do records wait (at most this long)
   * to share a sync. Default 50.
   */
  batchMs?: number;
  /**
   * `per-record` only: how long a `deferrable` append to an idle sink waits for another append to share
   * its write. Default 5.
   */
  deferMs?: number;
  /**
   * How long the event loop must have waited for work since the last write for the next write to be made
   * inline (see above; the first write has no wait to make). Default 0.1; `Infinity` never writes inline.
   */
  idleGapMs?: number;
  /**
   * Whether other work is in progress that a blocking write would hold up (the gateway: more than one call
   * being served). A write is made inline only while this says no. Default: nothing else is known to be in
   * progress, and the event loop's idle time alone decides.
   */
  othersInProgress?: () => boolean;
  /**
   * Whether the process has been serving one piece of work at a time for a while (the gateway: no two calls
   * in progress together lately). The event loop's want of idle time since the last write then comes from
   * that work alone (a request already waiting when the last one was answered), not from other work the
   * write would hold up, and a write may be made inline without the idle gap. Default: never.
   */
  servingAlone?: () => boolean;
  /** An inline write that takes this long pauses inline writing. Default 20. */
  slowInlineMs?: number;
  /** How long inline writing stays paused after a slow inline write. Default 10000. */
  inlinePauseMs?: number;
  /** Where to keep the chain head, for truncation checks. Absent: no checkpoints. */
  checkpointFile?: string;
  /** Write the checkpoint after this many durable records (and always on close). Default 100. */
  checkpointEvery?: number;
  /** While the sink is unavailable, how often it tries writing again. Default 1000. */
  retryMs?: number;
  /** Told about failures the sink recovers from (a failed write, a failed checkpoint). */
  onProblem?: (error: AuditError) => void;
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
  /**
   * Writes and syncs done so far (group commit: concurrent appends share them), and how many of those
   * syncs were made inline.
   */
  stats(): AuditWriteStats;
}

interface Pending {
  line: string;
  seq: number;
  hash: string;
  ts: string;
  /** performance.now() at append: the record's wait until durable is counted from here. */
  appendedAt: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export async function createJsonlAuditSink(options: JsonlAuditSinkOptions): Promise<JsonlAuditSink> {
  const batchMs = options.batchMs ?? 50;
  const deferMs = options.deferMs ?? 5;
  const idleGapMs = options.idleGapMs ?? 0.1;
  const slowInlineMs = options.slowInlineMs ?? 20;
  const inlinePauseMs = options.inlinePauseMs ?? 10_000;
  const checkpointEvery = options.checkpointEvery ?? 100;
  const retryMs = options.retryMs ?? 1000;
  if (!Number.isFinite(batchMs) || batchMs < 0) throw new RangeError('batchMs must be a non-negative number');
  if (!Number.isFinite(deferMs) || deferMs < 0) throw new RangeError('deferMs must be a non-negative number');
  if (Number.isNaN(idleGapMs) || idleGapMs < 0) throw new RangeError('idleGapMs must be a non-negative number');
  /** `idleGapMs: Infinity` turns inline writing off altogether, `servingAlone` or not. */
  const writesInline = idleGapMs !== Number.POSITIVE_INFINITY;
  if (!Number.isFinite(slowInlineMs) || slowInlineMs < 0)
    throw new RangeError('slowInlineMs must be a non-negative number');
  if (!Number.isFinite(inlinePauseMs) || inlinePauseMs < 0)
    throw new RangeError('inlinePauseMs must be a non-negative number');
  if (!Number.isFinite(retryMs) || retryMs <= 0) throw new RangeError('retryMs must be a positive number');
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
  let size: number;
  let repaired: TornTail | undefined;
  try {
    repaired = await repairTornTail(handle, file);
    head = await readExistingHead(handle, file, options.continueFrom ?? EMPTY_HEAD);
    size = (await handle.stat()).size;
    // A new log's directory entry must be durable too, or a crash could lose the whole file.
    if (head.seq === 0) await syncDirectory(path.dirname(file));
    if (checkpointFile !== undefined) await checkAgainstCheckpoint(head, file, checkpointFile);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  let writer: SyncedAppender;
  try {
    writer = await openSyncedAppender(handle, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot open audit log ${file} for writing: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }

  /** The last record on disk and synced, and the file length up to its end. */
  let durable: AuditChainHead & { ts?: string } = { ...head };
  let durableSize = size;
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let flushWanted = false;
  let lastSyncStarted = Number.NEGATIVE_INFINITY;
  /** The event loop's idle time (ms, eventLoopUtilization) when the last write finished; none yet at open. */
  let loopIdleAtLastWrite = Number.NEGATIVE_INFINITY;
  /** No inline write before this time (performance.now()): set by a slow inline write. */
  let inlinePausedUntil = Number.NEGATIVE_INFINITY;
  /** Set while writing does not work: appends are refused until a retry succeeds. */
  let outage: { error: AuditError; since: string; refused: number } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  /** A failed write may have left part of a batch in the file: cut back to `durableSize` before writing. */
  let mustTruncate = false;
  let closing: Promise<void> | undefined;
  let lastAppend: Promise<void> = Promise.resolve();
  let sinceCheckpoint = 0;
  /** The checkpoint being written, if one is (at most one at a time). */
  let checkpointing: Promise<void> | undefined;
  const checkpoints = checkpointFile !== undefined ? openCheckpointWriter(checkpointFile) : undefined;
  let records = 0;
  let syncs = 0;
  let inlineSyncs = 0;
  let syncMs = 0;
  let inlineSyncMs = 0;
  let durableWaitMs = 0;

  /**
   * A write failed: every queued record is refused, the chain head goes back to the last durable record
   * (refused records were never acknowledged, so nobody holds their hashes), and retries start.
   */
  function fail(error: AuditError, batch: Pending[]): void {
    const dropped = [...batch, ...queue];
    queue = [];
    head = { seq: durable.seq, hash: durable.hash };
    mustTruncate = true;
    outage ??= { error, since: now().toISOString(), refused: 0 };
    outage.error = error;
    outage.refused += dropped.length;
    for (const pending of dropped) pending.reject(error);
    options.onProblem?.(error);
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (retryTimer !== undefined || closing !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void retry();
    }, retryMs);
    retryTimer.unref();
  }

  /** Try writing again; the first record after an outage says how long it lasted and what it cost. */
  async function retry(): Promise<void> {
    if (outage === undefined || closing !== undefined) return;
    if (writing !== undefined) await writing.catch(() => undefined);
    const { since, refused, error } = outage;
    try {
      await enqueue({
        event: 'audit.recovered',
        reason: 'audit log writable again after a failed write',
        detail: { unavailableSince: since, refusedRecords: refused, error: error.message },
      });
      outage = undefined;
    } catch {
      // fail() has already scheduled the next try.
    }
  }

  function kick(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (writing === undefined && queue.length > 0) {
      writing = drain().finally(() => {
        writing = undefined;
        // Records that arrived during the write go out now (or after the batch spacing).
        if (queue.length > 0) schedule();
      });
    }
  }

  function schedule(): void {
    if (writing !== undefined) return; // the writer picks the queue up when it finishes
    const wait =
      durability === 'batched' && !flushWanted && closing === undefined
        ? lastSyncStarted + batchMs - performance.now()
        : 0;
    if (wait > 0) {
      timer ??= setTimeout(kick, wait);
      return;
    }
    // Defer to a microtask so appends made in the same tick share one write + sync.
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        kick();
      });
    }
  }

  /**
   * A deferrable record on an idle per-record sink waits up to `deferMs` for company; any other append,
   * `flush()` or `close()` writes it at once (kick clears the timer). Otherwise as `schedule`.
   */
  function scheduleDeferred(): void {
    if (durability === 'per-record' && writing === undefined && !scheduled) {
      timer ??= setTimeout(kick, deferMs);
      return;
    }
    schedule();
  }

  /** The one writer. Never throws: failures go through fail(). */
  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const text = batch.map((p) => p.line).join('');
      const bytes = Buffer.from(text, 'utf8');
      try {
        if (mustTruncate) {
          await handle.truncate(durableSize);
          mustTruncate = false;
        }
        const started = performance.now();
        let ended: number;
        lastSyncStarted = started;
        const loopIdle = performance.eventLoopUtilization().idle;
        const loopWaited =
          writesInline && (loopIdle - loopIdleAtLastWrite >= idleGapMs || options.servingAlone?.() === true);
        if (loopWaited && started >= inlinePausedUntil && options.othersInProgress?.() !== true) {
          try {
            writer.appendNow(bytes);
          } finally {
            // A failed write can be slow too (a stalled disk giving up): it pauses inline writing as well.
            ended = performance.now();
            if (ended - started >= slowInlineMs) inlinePausedUntil = ended + inlinePauseMs;
          }
          inlineSyncs++;
          inlineSyncMs += ended - started;
        } else {
          await writer.append(bytes);
          ended = performance.now();
        }
        loopIdleAtLastWrite = performance.eventLoopUtilization().idle;
        syncs++;
        syncMs += ended - started;
        for (const pending of batch) durableWaitMs += ended - pending.appendedAt;
      } catch (error) {
        fail(
          new AuditError(
            'AUDIT_WRITE_FAILED',
            `audit log write failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
            { cause: error },
          ),
          batch,
        );
        return;
      }
      const last = batch[batch.length - 1]!;
      durable = { seq: last.seq, hash: last.hash, ts: last.ts };
      durableSize += bytes.length;
      records += batch.length;
      options.onDurable?.(text);
      sinceCheckpoint += batch.length;
      for (const pending of batch) pending.resolve();
      // The checkpoint is written beside the log, not in front of the next batch: its own synced write (the
      // whole replacement, for this sink's first) would otherwise hold up every call waiting for its record.
      // It names a head that is already durable, so a crash while it is written loses nothing.
      if (checkpoints !== undefined && sinceCheckpoint >= checkpointEvery) checkpointInBackground();
      if (queue.length === 0) flushWanted = false;
      if (durability === 'batched' && !flushWanted && closing === undefined) return;
    }
  }

  function checkpointInBackground(): void {
    checkpointing ??= checkpointNow().finally(() => {
      checkpointing = undefined;
    });
  }

  /** A failed checkpoint loses nothing (the records are durable); it is reported and tried again later. */
  async function checkpointNow(): Promise<void> {
    if (checkpoints === undefined || durable.ts === undefined) return;
    const head = { seq: durable.seq, hash: durable.hash, ts: durable.ts };
    const covered = sinceCheckpoint;
    try {
      await checkpoints.write(head);
      // Records made durable while it was written count towards the next one.
      sinceCheckpoint -= covered;
    } catch (error) {
      options.onProblem?.(
        new AuditError(
          'AUDIT_WRITE_FAILED',
          `audit checkpoint write failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
          { cause: error },
        ),
      );
    }
  }

  /** Wait until nothing is queued or being written. */
  async function settle(): Promise<void> {
    for (;;) {
      if (writing !== undefined) await writing;
      else if (queue.length > 0) kick();
      else return;
    }
  }

  function enqueue(input: AuditRecordInput, deferrable = false): Promise<void> {
    let record: SealedLine;
    try {
      record = sealLine(input, head, now());
    } catch (error) {
      // e.g. a BigInt or a cycle in `detail`: reject this record without touching the chain.
      return Promise.reject(new TypeError('audit record is not JSON-serialisable', { cause: error }));
    }
    head = { seq: record.seq, hash: record.hash };
    const { line } = record;
    const promise = new Promise<void>((resolve, reject) => {
      queue.push({
        line,
        seq: record.seq,
        hash: record.hash,
        ts: record.ts,
        appendedAt: performance.now(),
        resolve,
        reject,
      });
    });
    lastAppend = promise;
    if (deferrable) scheduleDeferred();
    else schedule();
    return promise;
  }

  if (repaired !== undefined) {
    // The repair is itself audited, first thing in the continued chain.
    await enqueue({
      event: 'audit.repair',
      reason: `dropped an incomplete final line of ${repaired.droppedBytes} bytes (interrupted write) at start-up`,
      detail: { droppedBytes: repaired.droppedBytes, keptBytes: repaired.keptBytes },
    }).catch(async (error: unknown) => {
      await writer.close().catch(() => undefined);
      await handle.close().catch(() => undefined);
      throw error;
    });
  }

  return {
    head: () => ({ seq: head.seq, hash: head.hash }),
    stats: () => ({ records, syncs, inlineSyncs, syncMs, inlineSyncMs, durableWaitMs }),

    status(): AuditSinkStatus {
      if (closing !== undefined) return { available: false, reason: 'audit sink is closed' };
      if (outage !== undefined) return { available: false, reason: outage.error.message, since: outage.since };
      return { available: true };
    },

    append(input: AuditRecordInput, appendOptions?: AppendOptions): Promise<void> {
      if (closing !== undefined) return Promise.reject(new AuditError('AUDIT_SINK_CLOSED', 'audit sink is closed'));
      if (outage !== undefined) {
        outage.refused++;
        return Promise.reject(
          new AuditError('AUDIT_UNAVAILABLE', `audit log unavailable since ${outage.since}: ${outage.error.message}`),
        );
      }
      return enqueue(input, appendOptions?.deferrable === true);
    },

    async flush(): Promise<void> {
      if (outage !== undefined) throw outage.error;
      const waitFor = lastAppend;
      if (queue.length > 0) {
        flushWanted = true;
        kick();
      }
      await waitFor;
    },

    close(): Promise<void> {
      closing ??= (async () => {
        if (retryTimer !== undefined) clearTimeout(retryTimer);
        flushWanted = true;
        await settle();
        if (checkpointing !== undefined) await checkpointing;
        try {
          if (outage === undefined && durable.seq > 0 && sinceCheckpoint > 0) await checkpointNow();
        } finally {
          await checkpoints?.close().catch(() => undefined);
          await writer.close().catch(() => undefined);
          await handle.close().catch(() => undefined);
        }
        if (outage !== undefined) throw outage.error;
      })();
      return closing;
    },
  };
}

/** Appends bytes durably: when `append` resolves, they and the new file size are on disk. */
interface SyncedAppender {
  /** In libuv's thread pool: the event loop goes on meanwhile. */
  append(bytes: Buffer): Promise<void>;
  /** On the calling thread, blocking it until the bytes are synced; throws as `append` rejects. */
  appendNow(bytes: Buffer): void;
  close(): Promise<void>;
}

/**
 * An O_APPEND | O_DSYNC descriptor of its own where the platform has O_DSYNC (every write is synced before
 * it returns), else the sink's handle with an fdatasync after the write. A short write (a disk filling
 * up) is continued from where it stopped, so a batch is either all on disk or the write fails.
 */
async function openSyncedAppender(handle: FileHandle, file: string): Promise<SyncedAppender> {
  if (constants.O_DSYNC === undefined) {
    return {
      async append(bytes) {
        await writeFully(handle, bytes);
        await handle.datasync();
      },
      appendNow(bytes) {
        writeFullyNow(handle.fd, bytes);
        fdatasyncSync(handle.fd);
      },
      close: async () => undefined,
    };
  }
  const synced = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC);
  return {
    append: (bytes) => writeFully(synced, bytes),
    appendNow: (bytes) => writeFullyNow(synced.fd, bytes),
    close: () => synced.close(),
  };
}

interface TornTail {
  droppedBytes: number;
  keptBytes: number;
}

/**
 * A crash in the middle of a write leaves an incomplete final line. Nothing in it was acknowledged (an
 * append resolves only after its whole line is synced), so the line is cut off, and the caller records
 * how many bytes were dropped. Everything before the last newline is left exactly as it is.
 */
async function repairTornTail(handle: FileHandle, file: string): Promise<TornTail | undefined> {
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    const keptBytes = await lengthThroughLastNewline(handle, size);
    if (keptBytes === size) return undefined;
    await handle.truncate(keptBytes);
    await handle.datasync();
    return { droppedBytes: size - keptBytes, keptBytes };
  } catch (error) {
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot repair audit log ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
}

/** Bytes up to and including the last newline (0 when there is none). */
async function lengthThroughLastNewline(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const length = Math.min(chunk.length, end);
    const start = end - length;
    const { bytesRead } = await handle.read(chunk, 0, length, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
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
  if (!lineHashChecks(lastLine, last))
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

/**
 * Rotation without downtime, as a layer around the file sink: when the active file reaches `maxBytes`
 * or a new UTC hour/day begins, the layer closes the active file's sink (which writes everything queued
 * and its checkpoint), renames the file after its first sequence number (segments.ts), and opens a fresh
 * sink on the configured name that continues the chain from the last record. Appends made meanwhile wait
 * for the new file and are sealed in call order, so nothing is refused or lost and the chain has no gap.
 *
 * Fail closed: if the rename or the new file fails, the layer reopens the file it was writing; if even
 * that fails, every append rejects with AUDIT_WRITE_FAILED.
 */
import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from './checkpoint.js';
import type { AuditChainHead } from './chain.js';
import { AuditError } from './errors.js';
import type { JsonlAuditSink } from './jsonl-sink.js';
import { firstRecord, headOfRotated, rotatedSegmentName } from './segments.js';
import type { AppendOptions, AuditRecordInput, AuditWriteStats } from './types.js';

const RETRY_AFTER_FAILED_ROTATION_MS = 60_000;

export interface AuditRotation {
  /** Rotate once the active file holds at least this many bytes. */
  maxBytes?: number | undefined;
  /** Rotate when a new UTC hour or day begins. */
  every?: 'hour' | 'day' | undefined;
}

export interface RotatingAuditSinkOptions {
  file: string;
  rotation: AuditRotation;
  /** Opens the file sink on `file`, continuing the chain from `continueFrom`. */
  openSegment(continueFrom: AuditChainHead): Promise<JsonlAuditSink>;
  now?: () => Date;
}

export async function createRotatingAuditSink(options: RotatingAuditSinkOptions): Promise<JsonlAuditSink> {
  const { file, rotation } = options;
  const now = options.now ?? (() => new Date());
  if (rotation.maxBytes !== undefined && (!Number.isSafeInteger(rotation.maxBytes) || rotation.maxBytes < 1))
    throw new RangeError('maxBytes must be a positive integer');

  const continueFrom = await headOfRotated(file).catch((error: unknown) => {
    throw new AuditError(
      'AUDIT_IO_ERROR',
      `cannot read the rotated files of ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  });
  if (continueFrom === undefined)
    throw new AuditError(
      'AUDIT_CHAIN_CORRUPT',
      `the newest rotated file of ${file} does not end with a complete record; refusing to continue the chain`,
    );
  let current = await options.openSegment(continueFrom);
  const first = await firstRecord(file).catch(() => undefined);
  /** Sequence number the active file starts at, and the period it was opened in. */
  let segmentStart = first?.seq ?? current.head().seq + 1;
  let segmentPeriod = periodOf(first !== undefined ? new Date(first.ts) : now(), rotation.every);
  let rotating: Promise<void> | undefined;
  let failure: AuditError | undefined;
  let closed = false;
  let checking = false;
  /** performance.now() before which no rotation is tried (after a failed rename). */
  let retryAfter = 0;
  /** Writes and syncs of the files already closed by rotation. */
  let closedStats: AuditWriteStats = {
    records: 0,
    syncs: 0,
    inlineSyncs: 0,
    syncMs: 0,
    inlineSyncMs: 0,
    durableWaitMs: 0,
  };
  let timer: NodeJS.Timeout | undefined;

  function armTimer(): void {
    if (rotation.every === undefined || closed) return;
    const wait = Math.max(1000, nextBoundary(now(), rotation.every).getTime() - now().getTime());
    timer = setTimeout(() => {
      timer = undefined;
      void maybeRotate().finally(armTimer);
    }, wait);
    timer.unref();
  }
  armTimer();

  /** Something was written to the active file (an empty file is never rotated). */
  const written = (): boolean => current.head().seq >= segmentStart;
  const periodEnded = (): boolean =>
    rotation.every !== undefined && periodOf(now(), rotation.every) !== segmentPeriod && written();

  /** Starts a rotation now, synchronously, so every later append waits for the new file. */
  function startRotation(): Promise<void> {
    if (rotating !== undefined) return rotating;
    if (closed || failure !== undefined || performance.now() < retryAfter) return Promise.resolve();
    const run: Promise<void> = rotate().finally(() => {
      if (rotating === run) rotating = undefined;
    });
    rotating = run;
    return run;
  }

  /**
   * After an append: rotate when the hour/day changed, or when the file reached `maxBytes`. The size
   * check does not hold appends up; only an actual rotation makes new appends wait.
   */
  function maybeRotate(): Promise<void> {
    if (rotating !== undefined) return rotating;
    if (periodEnded()) return startRotation();
    if (rotation.maxBytes === undefined || checking || closed || failure !== undefined) return Promise.resolve();
    const maxBytes = rotation.maxBytes;
    checking = true;
    return stat(file)
      .then(
        (s) => s.size >= maxBytes && written(),
        () => false,
      )
      .then((due) => {
        checking = false;
        return due ? startRotation() : undefined;
      });
  }

  async function rotate(): Promise<void> {
    const old = current;
    try {
      await old.close();
    } catch (error) {
      failure ??= toWriteFailure('audit log could not be closed for rotation', error);
      return;
    }
    const head = old.head();
    const done = old.stats();
    closedStats = addStats(closedStats, done);
    const target = rotatedSegmentName(file, segmentStart);
    try {
      if (
        await stat(target).then(
          () => true,
          () => false,
        )
      )
        throw Object.assign(new Error('rotated file exists'), { code: 'EEXIST' });
      await rename(file, target);
      await syncDirectory(path.dirname(file));
    } catch {
      // Keep writing the file we had: the chain continues in it; rotation is tried again a minute later
      // rather than after every record.
      retryAfter = performance.now() + RETRY_AFTER_FAILED_ROTATION_MS;
      try {
        current = await options.openSegment(head);
      } catch (reopenError) {
        failure ??= toWriteFailure('audit log could not be reopened after a failed rotation', reopenError);
      }
      return;
    }
    try {
      current = await options.openSegment(head);
      segmentStart = head.seq + 1;
      segmentPeriod = periodOf(now(), rotation.every);
    } catch (error) {
      failure ??= toWriteFailure('new audit log file could not be opened after rotation', error);
    }
  }

  return {
    head: () => current.head(),

    stats() {
      return addStats(closedStats, current.stats());
    },

    // Readiness: a rotation that could not reopen the log is an outage like any write failure.
    status() {
      if (failure !== undefined) return { available: false, reason: failure.message };
      return current.status?.() ?? { available: true };
    },

    async append(input: AuditRecordInput, options?: AppendOptions): Promise<void> {
      // A record of a new hour/day goes to a new file. Waiters on one rotation resume in the order they
      // arrived, so records are sealed in call order.
      if (periodEnded()) void startRotation();
      while (rotating !== undefined) await rotating;
      if (failure !== undefined) throw failure;
      await current.append(input, options);
      if (rotation.maxBytes !== undefined || rotation.every !== undefined) void maybeRotate();
    },

    async flush(): Promise<void> {
      while (rotating !== undefined) await rotating;
      if (failure !== undefined) throw failure;
      await current.flush();
    },

    async close(): Promise<void> {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      while (rotating !== undefined) await rotating;
      await current.close();
      if (failure !== undefined) throw failure;
    },
  };
}

function toWriteFailure(what: string, error: unknown): AuditError {
  return new AuditError('AUDIT_WRITE_FAILED', `${what}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
    cause: error,
  });
}

/** The UTC hour or day a moment falls in (`2026-12-02T07`, `2026-12-02`); '' without time rotation. */
function periodOf(moment: Date, every: AuditRotation['every']): string {
  if (every === undefined) return '';
  const iso = moment.toISOString();
  return every === 'hour' ? iso.slice(0, 13) : iso.slice(0, 10);
}

function nextBoundary(moment: Date, every: 'hour' | 'day'): Date {
  const next = new Date(moment.getTime());
  if (every === 'hour') next.setUTCHours(next.getUTCHours() + 1, 0, 0, 0);
  else next.setUTCHours(24, 0, 0, 0);
  return next;
}

function addStats(a: AuditWriteStats, b: AuditWriteStats): AuditWriteStats {
  return {
    records: a.records + b.records,
    syncs: a.syncs + b.syncs,
    inlineSyncs: a.inlineSyncs + b.inlineSyncs,
    syncMs: a.syncMs + b.syncMs,
    inlineSyncMs: a.inlineSyncMs + b.inlineSyncMs,
    durableWaitMs: a.durableWaitMs + b.durableWaitMs,
  };
}

/**
 * Detecting that Redis lost its data, so that a store that lost its data reads as *unknown*, never as
 * *empty*, for anything that denies (disabled agents, revoked credentials, ended tasks).
 *
 * `{prefix}store:epoch` holds a random value written once the store's state is complete (at first start,
 * or after a rebuild). Every read that can deny fetches it in the same round trip as its data (see the task
 * and revocation stores) and hands it to `confirm`: a missing epoch means the store lost its data (a restart
 * without persistence, a flush, a failover to an empty replica); a different one means another instance or
 * `portcullis store rebuild` rebuilt it. Either way this instance refuses (STORE_UNAVAILABLE, "lost its
 * data") until it has recovered:
 *   - automatic (the default): rebuild from the audit logs it can read (its own, plus every log listed in
 *     `stores.recovery.auditFiles`), write a new epoch unless another instance already did, adopt it;
 *   - manual: wait until an operator's `portcullis store rebuild` writes a new epoch, then adopt it.
 * The epoch is also checked when the connection comes back, so recovery starts before the next call.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../services/tasks/index.js';
import { DEFAULT_STORE_TIMEOUT_MS, guardStore } from './store-guard.js';

export const LOST_MESSAGE = 'the state store lost its data; refused until it is rebuilt from the audit log';

export interface RebuildReport {
  durationMs: number;
  files: string[];
  records: number;
  malformed: number;
  disabledAgents: number;
  revokedCredentials: number;
  tasks: number;
  lostApprovals: number;
  toolPins: number;
}

export type EpochEvent =
  | { kind: 'lost'; reason: 'missing' | 'changed' }
  | { kind: 'recovered'; how: 'initialised' | 'rebuilt' | 'adopted'; downMs: number; report?: RebuildReport }
  | { kind: 'rebuild-failed'; error: unknown };

export interface StoreEpoch {
  readonly key: string;
  /** Check the epoch read with a deny-relevant read; throws StoreUnavailableError when the data is not the known state. */
  confirm(value: string | null): void;
  /**
   * Read the epoch now: at start-up (`initial`: a store without one is initialised by a rebuild, which
   * for a new deployment finds nothing to restore) and after a reconnect.
   */
  check(initial?: boolean): Promise<void>;
  status(): { available: boolean; reason?: string };
  close(): void;
}

export interface StoreEpochOptions {
  redis: Redis;
  prefix: string;
  /** Rebuild from the audit logs this instance can read; absent = manual recovery only. */
  rebuild?: () => Promise<RebuildReport>;
  onEvent?: (event: EpochEvent) => void;
  /** How often a lost store is retried (default 1000 ms). */
  retryMs?: number;
  timeoutMs?: number;
}

export function epochKey(prefix: string): string {
  return `${prefix}store:epoch`;
}

export function newEpochValue(): string {
  return `${new Date().toISOString()} ${randomUUID()}`;
}

export function createStoreEpoch(options: StoreEpochOptions): StoreEpoch {
  const { redis } = options;
  const key = epochKey(options.prefix);
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const retryMs = options.retryMs ?? 1000;
  let known: string | undefined;
  let lostSince: number | undefined;
  /** The first rebuild of a store without an epoch at start-up (a new deployment, or a loss while stopped). */
  let initialising = false;
  let recovering: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const emit = (event: EpochEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // Reporting never changes the outcome.
    }
  };

  function markLost(value: string | null, initial = false): void {
    if (lostSince === undefined) {
      lostSince = performance.now();
      if (!initial) emit({ kind: 'lost', reason: value === null ? 'missing' : 'changed' });
    }
    void recover();
  }

  async function recoverOnce(): Promise<void> {
    const current = await guardStore(() => redis.get(key), timeoutMs);
    let report: RebuildReport | undefined;
    if (options.rebuild !== undefined) {
      report = await options.rebuild();
      if (current === null) await guardStore(() => redis.set(key, newEpochValue(), 'NX'), timeoutMs);
    } else if (current === null) {
      return; // manual: stay closed until an operator rebuilds
    }
    const adopted = await guardStore(() => redis.get(key), timeoutMs);
    if (adopted === null) return; // lost again meanwhile: the next attempt starts over
    known = adopted;
    initialising = false;
    const downMs = lostSince === undefined ? 0 : Math.round(performance.now() - lostSince);
    lostSince = undefined;
    emit({
      kind: 'recovered',
      how: report === undefined ? 'adopted' : initialising ? 'initialised' : 'rebuilt',
      downMs,
      ...(report !== undefined ? { report } : {}),
    });
  }

  function recover(): Promise<void> {
    if (closed) return Promise.resolve();
    recovering ??= recoverOnce()
      .catch((error: unknown) => emit({ kind: 'rebuild-failed', error }))
      .finally(() => {
        recovering = undefined;
        if (lostSince !== undefined && !closed && retry === undefined) {
          retry = setTimeout(() => {
            retry = undefined;
            void recover();
          }, retryMs);
          retry.unref();
        }
      });
    return recovering;
  }

  // A reconnect may be to a Redis that restarted empty: look before the next call does.
  const onReady = (): void => void check().catch(() => undefined);
  redis.on('ready', onReady);

  async function check(initial = false): Promise<void> {
    const value = await guardStore(() => redis.get(key), timeoutMs);
    if (initial && value !== null) {
      known = value; // the store is as complete as whoever wrote the epoch left it
      return;
    }
    if (value === null || value !== known) {
      initialising = initial;
      markLost(value, initial);
    }
    if (recovering !== undefined) await recovering;
  }

  return {
    key,
    confirm(value) {
      if (lostSince === undefined && value !== null && value === known) return;
      markLost(value);
      throw new StoreUnavailableError(LOST_MESSAGE);
    },
    check,
    status: () => (lostSince === undefined ? { available: true } : { available: false, reason: LOST_MESSAGE }),
    close() {
      closed = true;
      clearTimeout(retry);
      redis.off('ready', onReady);
    },
  };
}

/**
 * Rebuilding the state that denies in Redis from audit logs (see services/recovery): disabled agents,
 * revoked credentials, task records, trusted tool hashes and the approval requests whose tickets were lost. Every write only
 * adds what denies and never undoes a change made since: a kill switch already set stays, a task that
 * exists is left as it is (except that an end the log records is applied), so running it twice, on several
 * instances at once, or on a store that lost nothing is harmless.
 *
 * Tasks that the log shows still running are restored as ended ("lost with the state store"): their call
 * counts and the data labels they read are not in the log, and a task without them could pass a rule that
 * denies on them. Agents open new tasks.
 */
import type { Redis } from 'ioredis';
import {
  readDenyStateRecords,
  reduceDenyState,
  sortRecords,
  type DenyState,
  type RecoveredTask,
} from '../services/recovery/index.js';
import type { RebuildReport } from './redis-epoch.js';
import type { LostApproval } from '../services/approvals/index.js';
import type { PinRecord } from '../services/integrity/index.js';
import { guardStore } from './store-guard.js';
import { taskHashFields, taskKeys } from './redis-task-store.js';

export const LOST_TASK_REASON = 'lost with the state store';

export interface RebuildOptions {
  redis: Redis;
  prefix: string;
  /** Every instance's audit log (`audit.file` names; rotated files are found beside each). */
  logs: readonly { file: string; optional?: boolean }[];
  /** How long pending approval requests live (`approvals.pendingTtlSeconds`). */
  pendingTtlMs: number;
  /** How long ended task records are kept (default one hour, as the task store). */
  taskRetentionMs?: number;
  now?: () => number;
}

const RESTORE_TASK = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[1] == '1' and redis.call('HEXISTS', KEYS[1], 'endedAt') == 0 then
    redis.call('HSET', KEYS[1], 'endedAt', ARGV[2], 'endReason', ARGV[3], 'purgeAt', ARGV[4])
    redis.call('PEXPIREAT', KEYS[1], ARGV[4])
    redis.call('ZADD', KEYS[2], 'XX', ARGV[5], ARGV[6])
    redis.call('ZADD', KEYS[3], 'XX', ARGV[5], ARGV[6])
  end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
return 1`;

/** Where lost approval requests are listed (hash: id -> JSON), for the operator API and console. */
export function lostApprovalsKey(prefix: string): string {
  return `${prefix}approvals:lost`;
}

/** The BullMQ ticket key of the approval queue opened on the same prefix (see open-approvals.ts). */
function ticketKey(prefix: string, id: string): string {
  return `${prefix.replace(/:+$/, '')}:bull:approvals:state:ticket:${id}`;
}

const LOST_APPROVALS_TTL_MS = 24 * 3600 * 1000;

export async function rebuildFromAudit(options: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const read = await readDenyStateRecords(options.logs);
  const state = reduceDenyState(sortRecords(read.records));
  const counts = await applyDenyState(options, state);
  return {
    durationMs: Math.round(performance.now() - started),
    files: read.files,
    records: read.records.length,
    malformed: read.malformed,
    ...counts,
  };
}

export async function applyDenyState(
  options: Omit<RebuildOptions, 'logs'>,
  state: DenyState,
): Promise<Pick<RebuildReport, 'disabledAgents' | 'revokedCredentials' | 'tasks' | 'lostApprovals' | 'toolPins'>> {
  const { redis, prefix } = options;
  const now = (options.now ?? Date.now)();
  const retentionMs = options.taskRetentionMs ?? 3600_000;
  const batch = redis.multi();
  for (const [agentId, at] of state.disabledAgents) batch.set(`${prefix}disabled:agent:${agentId}`, String(at), 'NX');
  let revoked = 0;
  for (const [jti, until] of state.revokedJtis) {
    if (until <= now) continue;
    revoked += 1;
    batch.set(`${prefix}revoked:jti:${jti}`, '1', 'PXAT', until, 'NX');
  }
  let tasks = 0;
  const keys = taskKeys(prefix);
  for (const task of state.tasks.values()) {
    const args = restoreArgs(task, now, retentionMs);
    if (args === undefined) continue;
    tasks += 1;
    batch.eval(RESTORE_TASK, 3, keys.task(task.id), keys.all, keys.agent(task.agentId), ...args);
  }
  // Trusted tool hashes, where no pin exists (a pin written since, by first sight or an operator, stays).
  for (const pin of state.pins.values()) {
    const record: PinRecord = {
      connector: pin.connector,
      tool: pin.tool,
      hash: pin.hash,
      status: 'trusted',
      firstSeen: new Date(pin.pinnedAt).toISOString(),
      flags: [],
    };
    batch.hsetnx(`${prefix}tool-pins`, `${pin.connector}\u0000${pin.tool}`, JSON.stringify(record));
  }
  const replies = await batch.exec();
  for (const [error] of replies ?? []) if (error !== null) throw error;
  if (replies === null) throw new Error('the rebuild transaction was discarded');

  // Pending requests whose tickets are gone: listed as lost (their waiting agents are told by the queue).
  let lost = 0;
  const lostKey = lostApprovalsKey(prefix);
  for (const approval of state.pendingApprovals.values()) {
    if (approval.requestedAt + options.pendingTtlMs <= now) continue;
    if ((await redis.exists(ticketKey(prefix, approval.id))) === 1) continue;
    lost += 1;
    const { requestedAt, ...rest } = approval;
    const view: LostApproval = {
      ...rest,
      status: 'lost',
      createdAt: new Date(requestedAt).toISOString(),
      decisions: [],
    };
    await redis.hset(lostKey, approval.id, JSON.stringify(view));
  }
  if (lost > 0) await redis.pexpire(lostKey, LOST_APPROVALS_TTL_MS);
  return {
    disabledAgents: state.disabledAgents.size,
    revokedCredentials: revoked,
    tasks,
    lostApprovals: lost,
    toolPins: state.pins.size,
  };
}

/** ARGV for RESTORE_TASK, or undefined when the record would already have been purged. */
function restoreArgs(task: RecoveredTask, now: number, retentionMs: number): string[] | undefined {
  const endedInLog = task.endedAt !== undefined;
  const endedAt = task.endedAt ?? Math.min(task.expiresAt, now);
  const purgeAt = endedAt + retentionMs;
  if (purgeAt <= now || task.agentId === '') return undefined;
  const endReason = task.endReason ?? (task.expiresAt <= now ? 'expired' : LOST_TASK_REASON);
  const fields = [...taskHashFields(task, purgeAt), 'endedAt', String(endedAt), 'endReason', endReason];
  return [
    endedInLog ? '1' : '0',
    String(endedAt),
    endReason,
    String(purgeAt),
    // The task indexes' score: when the record is dropped (redis-task-store.ts).
    String(purgeAt),
    task.id,
    ...fields,
  ];
}

/** The lost approval requests recorded by the last rebuild, newest first (STORE_UNAVAILABLE when Redis cannot answer). */
export async function readLostApprovals(redis: Redis, prefix: string): Promise<LostApproval[]> {
  const entries = await guardStore(() => redis.hgetall(lostApprovalsKey(prefix)));
  const out: LostApproval[] = [];
  for (const value of Object.values(entries)) {
    try {
      const parsed = JSON.parse(value) as LostApproval;
      if (typeof parsed.id === 'string' && typeof parsed.createdAt === 'string') out.push(parsed);
    } catch {
      // A foreign value under our key is not a lost request.
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

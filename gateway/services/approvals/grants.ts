/**
 * Grants: what an approved ticket allows, kept until it is used up, expires or its task ends.
 *
 *   scope `call`       covers exactly the approved call (same call hash: agent, task, tool, method, canonical
 *                      URL, arguments), `usesLeft` times (1 unless the operator approved more uses), until
 *                      `expiresAt`.
 *   scope `task-tool`  covers any call of that tool in that task (the policy still decides each call) until
 *                      `expiresAt` or the end of the task; uses are not counted.
 *
 * `consume` prefers a `call` grant for the exact call over a `task-tool` grant, takes one use of it
 * atomically, and returns the grant with `usesLeft` as it is after this use. Once a task has ended, grants
 * for it are removed and none can be stored for it again.
 */
import { checkGrant, DEFAULT_ENDED_TASK_SECONDS } from './grant-check.js';
import { ApprovalError, type GrantStore, type StoredGrant, type Ticket } from './types.js';

export { checkGrant, DEFAULT_ENDED_TASK_SECONDS } from './grant-check.js';
export { createRedisGrantStore, type RedisGrantStoreOptions } from './redis-grant-store.js';

/** The grant an approved ticket carries. Throws TypeError for a ticket that is not approved. */
export function grantFromTicket(ticket: Ticket): StoredGrant {
  if (ticket.status !== 'approved' || ticket.grant === undefined)
    throw new TypeError(`approval request ${ticket.id} is ${ticket.status}, not approved`);
  const approvers = [...new Set(ticket.decisions.filter((d) => d.approve).map((d) => d.approver))];
  const { scope, expiresAt } = ticket.grant;
  return {
    ticketId: ticket.id,
    scope,
    agentId: ticket.agentId,
    taskId: ticket.taskId,
    tool: ticket.tool,
    ...(scope === 'call' ? { callHash: ticket.callHash } : {}),
    expiresAt,
    usesLeft: scope === 'call' ? (ticket.grant.uses ?? 1) : 1,
    approvers,
  };
}

export interface MemoryGrantStoreOptions {
  now?: () => number;
  endedTaskSeconds?: number;
}

export function createMemoryGrantStore(options: MemoryGrantStoreOptions = {}): GrantStore {
  const now = options.now ?? Date.now;
  const endedTaskMs = (options.endedTaskSeconds ?? DEFAULT_ENDED_TASK_SECONDS) * 1000;
  const grants = new Map<string, StoredGrant>();
  /**
   * Tasks ended lately, each until its mark runs out, in the order they were marked: every mark lasts as
   * long, so they run out in that order too, and the expired ones are always at the front.
   */
  const endedTasks = new Map<string, number>();
  let closed = false;

  const live = (grant: StoredGrant, at: number): boolean => Date.parse(grant.expiresAt) > at;

  function forgetEndedTasks(at: number): void {
    for (const [taskId, until] of endedTasks) {
      if (until > at) return;
      endedTasks.delete(taskId);
    }
  }

  function sweep(at: number): void {
    for (const [id, grant] of grants) if (!live(grant, at)) grants.delete(id);
    forgetEndedTasks(at);
  }

  return {
    async put(grant: StoredGrant): Promise<void> {
      if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the grant store is closed');
      checkGrant(grant);
      const at = now();
      sweep(at);
      if (endedTasks.has(grant.taskId) || grants.has(grant.ticketId) || !live(grant, at)) return;
      grants.set(grant.ticketId, { ...grant, approvers: [...grant.approvers] });
    },

    async consume(query): Promise<StoredGrant | undefined> {
      if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the grant store is closed');
      const at = now();
      for (const grant of grants.values()) {
        if (
          grant.scope === 'call' &&
          grant.callHash === query.callHash &&
          grant.taskId === query.taskId &&
          grant.tool === query.tool &&
          grant.usesLeft > 0 &&
          live(grant, at)
        ) {
          grant.usesLeft -= 1;
          return { ...grant, approvers: [...grant.approvers] };
        }
      }
      for (const grant of grants.values()) {
        if (
          grant.scope === 'task-tool' &&
          grant.taskId === query.taskId &&
          grant.tool === query.tool &&
          live(grant, at)
        ) {
          return { ...grant, approvers: [...grant.approvers] };
        }
      }
      return undefined;
    },

    async endTask(taskId: string): Promise<void> {
      if (closed) throw new ApprovalError('STORE_UNAVAILABLE', 'the grant store is closed');
      for (const [id, grant] of grants) if (grant.taskId === taskId) grants.delete(id);
      const at = now();
      // Ending a task is what adds marks, so it also drops those that ran out (put may never be called).
      forgetEndedTasks(at);
      endedTasks.delete(taskId); // marked again: moves to the back, in order
      endedTasks.set(taskId, at + endedTaskMs);
    },

    async close(): Promise<void> {
      closed = true;
      grants.clear();
      endedTasks.clear();
    },
  };
}

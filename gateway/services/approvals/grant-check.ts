import { isCallHash } from './call-hash.js';
import type { StoredGrant } from './types.js';

/** How long an ended task is remembered so that a late `put` cannot revive its grants (default 1 day). */
export const DEFAULT_ENDED_TASK_SECONDS = 86_400;

/** Throws TypeError for a grant that could not be matched safely. */
export function checkGrant(grant: StoredGrant): void {
  const named = [grant.ticketId, grant.agentId, grant.taskId, grant.tool].every(
    (v) => typeof v === 'string' && v !== '',
  );
  if (!named) throw new TypeError('grant must name its ticket, agent, task and tool');
  if (grant.scope !== 'call' && grant.scope !== 'task-tool')
    throw new TypeError('grant scope must be call or task-tool');
  if (grant.scope === 'call' && !isCallHash(grant.callHash))
    throw new TypeError('a call grant needs the call hash it covers');
  if (!Number.isFinite(Date.parse(grant.expiresAt))) throw new TypeError('grant expiresAt must be an ISO date');
  if (!Number.isInteger(grant.usesLeft) || grant.usesLeft < 0)
    throw new TypeError('grant usesLeft must be a non-negative integer');
}

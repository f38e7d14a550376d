/**
 * At most `max` open implicit tasks of 2026-07-28 requests per agent, counted in this process: starting one
 * more ends the one whose handle that agent used least recently. Without a cap, an agent that never echoes
 * its task handle holds a task per request for the idle time, at whatever rate it sends requests. The
 * count is per agent, so no agent can end another's tasks by opening its own.
 */
import { LRUCache } from 'lru-cache';

export interface RequestTaskCap {
  /** A task was started or continued for this agent: the most recently used now; may displace another. */
  use(agent: { agentId: string; tenant?: string }, taskId: string): void;
}

export function createRequestTaskCap(max: number, displace: (taskId: string) => void): RequestTaskCap {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('the request task cap is at least one');
  const perAgent = new Map<string, LRUCache<string, true>>();
  return {
    use(agent, taskId) {
      const key = JSON.stringify([agent.tenant ?? null, agent.agentId]);
      let open = perAgent.get(key);
      if (open === undefined) {
        open = new LRUCache<string, true>({
          max,
          dispose: (_value, id, reason) => {
            if (reason === 'evict') displace(id);
          },
        });
        perAgent.set(key, open);
      }
      open.set(taskId, true);
    },
  };
}

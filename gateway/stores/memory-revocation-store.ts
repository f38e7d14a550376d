/** Revocation for a single gateway instance; task state comes from the task store. */
import { isTaskLive, type TaskStore } from '../services/tasks/index.js';
import type { RevocationStore } from '../services/revocation/index.js';

export interface MemoryRevocationStoreOptions {
  tasks: TaskStore;
  now?: () => number;
}

export function createMemoryRevocationStore(options: MemoryRevocationStoreOptions): RevocationStore {
  const now = options.now ?? Date.now;
  const revoked = new Map<string, number>();
  const disabled = new Set<string>();

  function prune(): void {
    const t = now();
    for (const [jti, until] of revoked) if (until <= t) revoked.delete(jti);
  }

  return {
    async revokeJti(jti, until) {
      prune();
      revoked.set(jti, Math.max(until, revoked.get(jti) ?? 0));
    },
    async isJtiRevoked(jti) {
      const until = revoked.get(jti);
      return until !== undefined && until > now();
    },
    async disableAgent(agentId) {
      disabled.add(agentId);
    },
    async enableAgent(agentId) {
      disabled.delete(agentId);
    },
    async isAgentDisabled(agentId) {
      return disabled.has(agentId);
    },
    async isTaskEnded(taskId) {
      return !isTaskLive(await options.tasks.get(taskId), now());
    },
    async close() {
      revoked.clear();
      disabled.clear();
    },
  };
}

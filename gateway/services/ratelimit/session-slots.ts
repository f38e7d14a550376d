/**
 * Per-agent session caps without a race. A slot is taken in one atomic step with the check: in memory, in
 * the same turn as the check before anything asynchronous happens (task creation, transport set-up); in
 * Redis, one script that counts and adds (see stores/redis-session-slots.ts), so the cap holds across every
 * instance sharing the store. Counting only sessions that have finished opening lets simultaneous opens all
 * pass the check; counting slots does not.
 */
export interface SessionSlot {
  /** Give the slot back (idempotent): when the session closes, or when opening it failed. */
  release(): void;
}

export interface SessionSlots {
  /**
   * A slot for `agentId`, or undefined when it already holds `max`. Rejects with StoreUnavailableError
   * when a shared store cannot answer (the open is refused, truthfully, never admitted).
   */
  take(agentId: string): Promise<SessionSlot | undefined>;
  /** Stop renewing shared slots and give them back (best effort). */
  close(): Promise<void>;
}

export function createMemorySessionSlots(max: number): SessionSlots {
  const counts = new Map<string, number>();
  return {
    // No await before the increment: check and take happen in one turn of the event loop.
    async take(agentId) {
      const held = counts.get(agentId) ?? 0;
      if (held >= max) return undefined;
      counts.set(agentId, held + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          const now = (counts.get(agentId) ?? 1) - 1;
          if (now <= 0) counts.delete(agentId);
          else counts.set(agentId, now);
        },
      };
    },
    async close() {},
  };
}

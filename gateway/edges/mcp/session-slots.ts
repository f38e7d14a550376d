/**
 * Per-agent session caps without a race: a slot is taken synchronously, in the same turn as the check,
 * before anything asynchronous happens (task creation, transport set-up). Counting only sessions that
 * have finished opening lets simultaneous opens all pass the check; counting slots does not.
 */
export interface SessionSlot {
  /** Give the slot back (idempotent): when the session closes, or when opening it failed. */
  release(): void;
}

export interface SessionSlots {
  /** A slot for `agentId`, or undefined when it already holds `max`. */
  take(agentId: string): SessionSlot | undefined;
  held(agentId: string): number;
}

export function createSessionSlots(max: number): SessionSlots {
  const counts = new Map<string, number>();
  return {
    take(agentId) {
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
    held: (agentId) => counts.get(agentId) ?? 0,
  };
}

/**
 * Reconnect delays: exponential from `initialDelayMs`, capped at `maxDelayMs`, with "equal jitter" (the
 * delay is uniformly drawn from [d/2, d]) so many gateways restarting at once do not reconnect in lockstep,
 * yet never retry immediately.
 */
export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Delay before reconnect attempt number `attempt` (0-based). `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  const capped = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** exponent);
  return Math.round(capped / 2 + random() * (capped / 2));
}

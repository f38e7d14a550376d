/**
 * The calls currently in flight on one upstream connection, and the rule for routing what the upstream
 * sends outside of a response (sampling, elicitation and roots requests; log messages).
 *
 * One upstream connection is shared by every agent using the connector, so nothing is delivered to an agent
 * on a guess. A message belongs to a call when it arrived on that call's own exchange: over Streamable HTTP,
 * the event stream that answers the call's request (the transports run it in the call's scope, see
 * call-scope.ts). A message that arrived outside any call's exchange (stdio, or the HTTP session's standalone
 * stream) belongs to a call only when exactly one is in flight; with none or several it has no owner.
 */
import type { ConnectorContext } from '../contract.js';

export interface InFlight {
  /** Register an operation for the duration of `run`. */
  track<T>(ctx: ConnectorContext, run: () => Promise<T>): Promise<T>;
  /**
   * The call a message from the upstream belongs to. `arrivedOn` is the call whose exchange carried it, if
   * any; it counts only while that call is still in flight.
   */
  owner(arrivedOn: ConnectorContext | undefined): ConnectorContext | undefined;
  size(): number;
}

export function createInFlight(): InFlight {
  const active = new Map<symbol, ConnectorContext>();
  const contexts = new Map<ConnectorContext, number>();
  return {
    async track(ctx, run) {
      const key = Symbol(ctx.callId);
      active.set(key, ctx);
      contexts.set(ctx, (contexts.get(ctx) ?? 0) + 1);
      try {
        return await run();
      } finally {
        active.delete(key);
        const left = (contexts.get(ctx) ?? 1) - 1;
        if (left === 0) contexts.delete(ctx);
        else contexts.set(ctx, left);
      }
    },
    owner(arrivedOn) {
      if (arrivedOn !== undefined && contexts.has(arrivedOn)) return arrivedOn;
      if (active.size !== 1) return undefined;
      const [only] = active.values();
      return only;
    },
    size: () => active.size,
  };
}

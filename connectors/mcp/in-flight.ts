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
import { createLiveList } from '../call-registries.js';
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
  // A list, not a Map: entries come and go with every call (see call-registries.ts).
  const active = createLiveList<ConnectorContext>();
  return {
    async track(ctx, run) {
      const remove = active.add(ctx);
      try {
        return await run();
      } finally {
        remove();
      }
    },
    owner(arrivedOn) {
      if (arrivedOn !== undefined && active.has(arrivedOn)) return arrivedOn;
      return active.only();
    },
    size: () => active.size,
  };
}

/**
 * The calls currently in flight on one upstream connection, and the rule for routing what the upstream
 * sends back outside of a response.
 *
 * One upstream connection is shared by every agent using the connector, and MCP gives a client no reliable
 * way to tell which of its requests a server-to-client request (sampling, elicitation, roots) or a log
 * message belongs to. So the connector only routes when there is no doubt: exactly one operation in flight.
 * With none or several, a server request is refused and a log message goes to the connector's own log;
 * nothing is ever delivered to an agent on a guess.
 */
import type { ConnectorContext } from '../contract.js';

export interface InFlight {
  /** Register an operation for the duration of `run`. */
  track<T>(ctx: ConnectorContext, run: () => Promise<T>): Promise<T>;
  /** The single in-flight operation's context, or undefined when there are none or several. */
  sole(): ConnectorContext | undefined;
  size(): number;
}

export function createInFlight(): InFlight {
  const active = new Map<symbol, ConnectorContext>();
  return {
    async track(ctx, run) {
      const key = Symbol(ctx.callId);
      active.set(key, ctx);
      try {
        return await run();
      } finally {
        active.delete(key);
      }
    },
    sole() {
      if (active.size !== 1) return undefined;
      const [only] = active.values();
      return only;
    },
    size: () => active.size,
  };
}

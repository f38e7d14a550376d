/**
 * The trace context an agent that traces its own work sends with every request (`--trace-context`): a W3C
 * `traceparent` in the request's `params._meta`, new for each request, as each is a span of its own.
 */
import { randomBytes } from 'node:crypto';

/** The `_meta` member of one request: a sampled `traceparent` with a new trace id and span id. */
export function freshTraceContext(): { traceparent: string } {
  const ids = randomBytes(24).toString('hex');
  return { traceparent: `00-${ids.slice(0, 32)}-${ids.slice(32)}-01` };
}

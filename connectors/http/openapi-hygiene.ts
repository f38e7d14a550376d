/**
 * Request hygiene for imported API descriptions: header and query parameters that would override the
 * method or change the routing of a request (see ../request-hygiene.ts) are left out of the imported tool,
 * with one warning per operation naming them, so an agent can never be handed such a parameter as an
 * argument. The operation itself is still imported: it is sent as described, just without them.
 */
import { routingHeaderProblem, routingQueryProblem } from '../request-hygiene.js';

type JsonObject = Record<string, unknown>;

/**
 * The parameters to import, without the routing-changing ones; `warn` is called once for the operation
 * when any were dropped.
 */
export function withoutRoutingParameters(
  parameters: Iterable<JsonObject>,
  operationLabel: string,
  warn: (message: string) => void,
): JsonObject[] {
  const kept: JsonObject[] = [];
  const dropped: string[] = [];
  for (const parameter of parameters) {
    const name = parameter['name'];
    const location = parameter['in'];
    const problem =
      typeof name !== 'string'
        ? undefined
        : location === 'header'
          ? routingHeaderProblem(name)
          : location === 'query'
            ? routingQueryProblem(name)
            : undefined;
    if (problem === undefined) kept.push(parameter);
    else dropped.push(`${String(location)} parameter "${String(name)}" (${problem})`);
  }
  if (dropped.length > 0) {
    warn(`${operationLabel}: left out ${dropped.join(', ')}: the gateway never sends method or routing overrides`);
  }
  return kept;
}

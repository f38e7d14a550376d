/**
 * Zod's cycle tracking, turned off for the process that runs the gateway.
 *
 * Zod wraps every recursive container schema in a memoizer (by default) so that one parse can walk a value
 * whose object graph has cycles or shared nodes: each parse of such a schema allocates a WeakMap, a Map per
 * schema and an entry per object visited, and the last parse's bookkeeping stays reachable until the next.
 * The MCP SDK validates every JSON-RPC message it receives and sends with schemas like that (its JSON value
 * types are recursive), several times per tool call. Everything the gateway validates that way was parsed
 * from JSON text (agents' requests, upstreams' answers) or built from such values and from the configuration
 * (whose loading refuses a YAML alias that makes a value contain itself), so it is a tree: without
 * the memoizer a recursive schema walks it as one, with the same result and none of that garbage. A value
 * with a cycle, which JSON cannot express, then fails its parse with a RangeError (call stack exceeded)
 * instead of being parsed.
 *
 * Zod reads the memoizer when it constructs a schema, so this must run before any schema is built: the
 * command's entry calls it before it loads the command. Schemas built earlier keep zod's default; both parse
 * trees alike.
 */
// zod's core alone (the configuration and the memoizer contract): the rest of the library is not needed here.
import { config, type $ZodMemoizer } from 'zod/v4/core';

/** A memoizer that keeps no state: every container parses the value it is given, as a tree. */
const TREE_WALK: $ZodMemoizer = {
  attach() {},
  guard() {},
  alloc: (_schema, _payload, empty) => empty,
};

/** Make schemas built from now on parse values as trees (see the module comment). */
export function validateValuesAsTrees(): void {
  config({ memoizer: TREE_WALK });
}

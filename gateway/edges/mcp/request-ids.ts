/**
 * Every request ends: within one MCP session, a JSON-RPC id names at most one request in flight. The
 * transport routes each response by id, so a second request reusing the id of one still running would
 * take over its route and leave the first without an answer. Such a request is refused at once instead,
 * and the id is free again as soon as the HTTP exchange that carried the first request has ended.
 */
import type { ServerResponse } from 'node:http';

export type JsonRpcId = string | number;

/** Ids in flight per session; keyed by type too, since `1` and `"1"` are different ids. */
export class InFlightRequestIds {
  private readonly ids = new Set<string>();

  /**
   * Claim the ids of the requests in `body` (one message or a batch) for the lifetime of `res`. Returns
   * the first id that is already in flight (or repeated within the batch), claiming nothing in that case.
   */
  claim(body: unknown, res: ServerResponse): { duplicate: JsonRpcId } | undefined {
    const ids = requestIds(body);
    const keys = ids.map(key);
    const seen = new Set<string>();
    for (let i = 0; i < keys.length; i++) {
      if (this.ids.has(keys[i]!) || seen.has(keys[i]!)) return { duplicate: ids[i]! };
      seen.add(keys[i]!);
    }
    if (keys.length === 0) return undefined;
    for (const k of keys) this.ids.add(k);
    res.once('close', () => {
      for (const k of keys) this.ids.delete(k);
    });
    return undefined;
  }
}

function key(id: JsonRpcId): string {
  return `${typeof id}:${String(id)}`;
}

/** Ids of the requests (messages with a method and an id) in one message or a batch. */
function requestIds(body: unknown): JsonRpcId[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: JsonRpcId[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/**
 * Which protocol era serves a POST that names no session: the SDK's `isLegacyRequest`, the classification
 * its 2026-07-28 handler makes again before serving, so the two never disagree.
 *
 * Most such requests are 2026-07-28 calls, and the SDK's rule says at once what they are: a JSON-RPC
 * message other than `initialize` whose `params._meta` holds the protocol-version key (the envelope claim)
 * is never 2025-era, whether its envelope is valid or not (the 2026-07-28 handler answers an invalid one).
 * Such a body is routed without classifying it twice; every other body goes through the SDK's predicate.
 */
import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { isJsonObject } from '../../../connectors/contract.js';

/** Whether the SDK would serve this POST (body already parsed) as a 2025-era request. */
export async function isLegacyPost(request: Request, body: unknown): Promise<boolean> {
  if (claimsModernEnvelope(body)) return false;
  return isLegacyRequest(request, body);
}

/**
 * A single JSON-RPC request or notification, not `initialize` (whose claim the SDK also checks for
 * validity), carrying the envelope claim. Bodies with `result` or `error` are left to the SDK: it reads
 * a posted response as 2025-era before it looks for a claim.
 */
export function claimsModernEnvelope(body: unknown): boolean {
  if (!isJsonObject(body) || 'result' in body || 'error' in body) return false;
  const method = body['method'];
  if (typeof method !== 'string' || method === 'initialize') return false;
  const params = body['params'];
  if (!isJsonObject(params)) return false;
  const meta = params['_meta'];
  return isJsonObject(meta) && PROTOCOL_VERSION_META_KEY in meta;
}

/**
 * The SDK's routing of an inbound request to the 2026-07-28 era (`classifyInboundRequest`), kept per
 * envelope for the requests it routes there.
 *
 * Why. The SDK's classifier runs four zod parses over every request (whether the body is a result, an
 * error, a request, and its `_meta` envelope against the 2026-07-28 schema), two of them failing: 11 to
 * 15 µs and about 10 KB a `tools/call` at 32 sessions (docs/benchmarks.md, "What changed"). An agent
 * sends the same envelope with every request, so the outcome is kept by what it depends on. What an
 * agent changes from request to request (its trace context, a progress token, the gateway's task handle)
 * is left out, so that agents which send them are classified once too, and all tasks of one agent build
 * share one entry.
 *
 * What it depends on, from the SDK's contract (@modelcontextprotocol/server 2.4, pinned): a body with no
 * members besides `jsonrpc`, `id`, `method` and `params` is neither a result nor an error (both schemas
 * require their member and are strict); as a request it is judged by `jsonrpc`, whether `id` is a string or
 * an integer, `method`, whether `params` is an object, and `params._meta` (the rest of `params` passes
 * through unchecked); its era by `method`, `params._meta` and the `MCP-Protocol-Version` and `Mcp-Method`
 * headers. Of `_meta`, the schemas check the envelope's members (`CHECKED_META_KEYS`) and the type of a
 * `progressToken` (a string or an integer); every other member passes through unchecked (both schemas are
 * loose). The key is those, as JSON (the HTTP method and the two headers with whether each was sent, the
 * envelope's members as sent, the progress token's type). Only such bodies, with a string or integer `id`
 * and an object `_meta`, are looked up; anything else (and every outcome but a 2026-07-28 request) goes to
 * the SDK's classifier every time, as does a progress token that is neither a string nor a safe integer. A
 * key holding `null` is not kept: JSON writes the non-finite numbers a body can hold (`1e999`) as `null`
 * too, and a schema may tell them apart. Property-tested against the SDK's classifier
 * (request-classifier.test.ts).
 */
import {
  classifyInboundRequest,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  RELATED_TASK_META_KEY,
  type InboundClassificationOutcome,
  type InboundHttpRequest,
  type JSONRPCRequest,
  type MessageClassification,
} from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import { isJsonObject } from '../../../connectors/contract.js';

/** A request the SDK's classifier routes to the 2026-07-28 era: the body, and the era it was given. */
export interface ModernRequest {
  message: JSONRPCRequest;
  classification: MessageClassification;
}

export type ModernRequestClassifier = (request: InboundHttpRequest) => ModernRequest | undefined;

export interface RequestClassifierOptions {
  /** The SDK's classifier (replaced in tests to count its calls). */
  classify?: (request: InboundHttpRequest) => InboundClassificationOutcome;
  /** Envelopes kept, the least recently used forgotten first. */
  entries?: number;
}

/** Envelopes kept by default: one or a few per agent build, so a few hundred agents' worth. */
export const CLASSIFIED_ENVELOPES = 256;
/** The longest key kept: an envelope of a few KB at most, so the memory held stays bounded. */
export const MAX_ENVELOPE_KEY_LENGTH = 4096;

const REQUEST_MEMBERS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);

/**
 * The members of `_meta` whose values the SDK's classifier checks: the 2026-07-28 envelope
 * (`RequestMetaEnvelopeSchema`) and the related task of a request's `RequestMetaSchema`.
 */
export const CHECKED_META_KEYS: readonly string[] = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  RELATED_TASK_META_KEY,
];

/** The SDK's classification of 2026-07-28 requests, or undefined for anything it routes otherwise. */
export function createRequestClassifier(options: RequestClassifierOptions = {}): ModernRequestClassifier {
  const classify = options.classify ?? classifyInboundRequest;
  const kept = new LRUCache<string, MessageClassification>({ max: options.entries ?? CLASSIFIED_ENVELOPES });
  return (request) => {
    const key = envelopeKey(request);
    const known = key === undefined ? undefined : kept.get(key);
    if (known !== undefined) return { message: request.body as JSONRPCRequest, classification: { ...known } };
    const route = classify(request);
    if (route.kind !== 'modern' || route.messageKind !== 'request') return undefined;
    if (key !== undefined) kept.set(key, { ...route.classification });
    return { message: route.message, classification: route.classification };
  };
}

/** What the SDK's classification of `request` depends on (see above), or undefined when not kept. */
export function envelopeKey(request: InboundHttpRequest): string | undefined {
  const body = request.body;
  if (!isJsonObject(body)) return undefined;
  for (const member of Object.keys(body)) if (!REQUEST_MEMBERS.has(member)) return undefined;
  const id = body['id'];
  const params = body['params'];
  if (!(typeof id === 'string' || Number.isInteger(id))) return undefined;
  if (!isJsonObject(params) || !isJsonObject(params['_meta'])) return undefined;
  const meta = params['_meta'];
  const token = progressTokenType(meta);
  if (token === undefined) return undefined;
  const checked: unknown[] = [];
  for (const name of CHECKED_META_KEYS) {
    if (!Object.hasOwn(meta, name)) checked.push(0);
    else if (meta[name] === undefined) return undefined;
    else checked.push([meta[name]]);
  }
  const key = JSON.stringify([
    request.httpMethod,
    request.protocolVersionHeader ?? '',
    request.protocolVersionHeader !== undefined,
    request.mcpMethodHeader ?? '',
    request.mcpMethodHeader !== undefined,
    body['jsonrpc'],
    body['method'],
    token,
    checked,
  ]);
  return key.length > MAX_ENVELOPE_KEY_LENGTH || key.includes('null') ? undefined : key;
}

/**
 * What the classifier sees of a `progressToken`: none, a string or a safe integer (the SDK's
 * `ProgressTokenSchema`); undefined for anything else, which is classified every time.
 */
function progressTokenType(meta: Record<string, unknown>): 'none' | 'string' | 'integer' | undefined {
  if (!Object.hasOwn(meta, 'progressToken')) return 'none';
  const token = meta['progressToken'];
  if (typeof token === 'string') return 'string';
  return Number.isSafeInteger(token) ? 'integer' : undefined;
}

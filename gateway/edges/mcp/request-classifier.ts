/**
 * The SDK's routing of an inbound request to the 2026-07-28 era (`classifyInboundRequest`), kept per
 * envelope for the requests it routes there.
 *
 * Why. The SDK's classifier runs four zod parses over every request (whether the body is a result, an
 * error, a request, and its `_meta` envelope against the 2026-07-28 schema), two of them failing: 11 to
 * 15 µs and about 10 KB a `tools/call` at 32 sessions (docs/benchmarks.md, "What changed"). An agent
 * sends the same envelope with every request, so the outcome is kept by what it depends on.
 *
 * What it depends on, from the SDK's contract (@modelcontextprotocol/server 2.4, pinned): a body with no
 * members besides `jsonrpc`, `id`, `method` and `params` is neither a result nor an error (both schemas
 * require their member and are strict); as a request it is judged by `jsonrpc`, whether `id` is a string or
 * an integer, `method`, whether `params` is an object, and `params._meta` (the rest of `params` passes
 * through unchecked); its era by `method`, `params._meta` and the `MCP-Protocol-Version` and `Mcp-Method`
 * headers. The key is those, as JSON (the HTTP method and the two headers with whether each was sent).
 * Only such bodies, with a string or integer `id` and an object `_meta`, are looked up; anything else (and
 * every outcome but a 2026-07-28 request) goes to the SDK's classifier every time. A key holding `null` is
 * not kept: JSON writes the non-finite numbers a body can hold (`1e999`) as `null` too, and a schema may
 * tell them apart. Property-tested against the SDK's classifier (request-classifier.test.ts).
 */
import {
  classifyInboundRequest,
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
  const key = JSON.stringify([
    request.httpMethod,
    request.protocolVersionHeader ?? '',
    request.protocolVersionHeader !== undefined,
    request.mcpMethodHeader ?? '',
    request.mcpMethodHeader !== undefined,
    body['jsonrpc'],
    body['method'],
    params['_meta'],
  ]);
  return key.length > MAX_ENVELOPE_KEY_LENGTH || key.includes('null') ? undefined : key;
}

/**
 * The connector's MCP client: the SDK `Client`, plus the result validator of a spec method kept instead of
 * built for every request.
 *
 * Why. `Client.request(request, options)` finds the result validator of a spec method anew on every call,
 * and finds it by validating `undefined` against the method's result schema to learn whether the era has
 * the method: a failing zod parse that builds an error and formats its message, dearer than validating
 * the real result, which passes. The validator itself depends only on the era's codec and the method, so
 * it is built once per pair here and passed as the explicit result schema, which takes the same request
 * path (same era gate, same codec, same result decoding) without the probe.
 *
 * And its per-request registries (the handler of each request's response, its timeout and its progress
 * handler, by message id) are dictionary maps, not `Map`s: one client serves every call on its upstream, an
 * entry comes and goes with each request, and a `Map` used so keeps every call's objects alive through
 * young-generation collections (see call-registries.ts).
 */
import { DictionaryMap } from '../call-registries.js';
import { Client, type RequestMethod, type RequestOptions, type StandardSchemaV1 } from '@modelcontextprotocol/client';

/** The SDK's per-request registries of a `Protocol` (private fields of @modelcontextprotocol/client 2.4). */
export const PER_REQUEST_REGISTRIES = ['_responseHandlers', '_timeoutInfo', '_progressHandlers'] as const;

/** What a spec method's result validator yields; the request's declared result type is the caller's. */
type ResultValidator = StandardSchemaV1<unknown, unknown>;

export class UpstreamClient extends Client {
  /** Per codec (the SDK has one per era), the validator of each method asked for; `undefined`: not in the era. */
  readonly #validators = new WeakMap<object, Map<string, ResultValidator | undefined>>();

  constructor(...args: ConstructorParameters<typeof Client>) {
    super(...args);
    const fields = this as unknown as Record<string, unknown>;
    // Only what is there and empty, as this SDK version builds it; anything else is left as the SDK made it.
    for (const field of PER_REQUEST_REGISTRIES) {
      const registry = fields[field];
      if (registry instanceof Map && registry.size === 0) fields[field] = new DictionaryMap<number, unknown>();
    }
  }

  /**
   * The result validator `Client.request` would use for `method` on the negotiated era, or `undefined` when
   * the era does not define the method (then `request` without a schema gives the SDK's own error). Only for
   * requests sent after the version has been negotiated: before it the SDK pins lifecycle methods to an era.
   */
  resultValidator(method: RequestMethod): ResultValidator | undefined {
    const codec = this._wireCodec();
    let byMethod = this.#validators.get(codec);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#validators.set(codec, byMethod);
    }
    const known = byMethod.get(method);
    if (known !== undefined || byMethod.has(method)) return known;
    const validator = eraResultValidator(codec, method);
    byMethod.set(method, validator);
    return validator;
  }

  /**
   * `request(request, options)` for a spec method, with the kept validator once a version has been
   * negotiated (before, the SDK's own path, which pins lifecycle methods to their era): the same request,
   * checks and result as the SDK's, typed as `unknown` for the caller to narrow.
   */
  requestSpec(
    request: { method: RequestMethod; params?: Record<string, unknown> },
    options?: RequestOptions,
  ): Promise<unknown> {
    const validator =
      this.getNegotiatedProtocolVersion() === undefined ? undefined : this.resultValidator(request.method);
    return validator === undefined ? this.request(request, options) : this.request(request, validator, options);
  }
}

/** What this module uses of the SDK's era codec (`_wireCodec()`, whose type the SDK does not export). */
interface ResultCodec {
  validateResult(
    method: string,
    raw: unknown,
  ):
    | { readonly ok: true; readonly value: unknown }
    | { readonly ok: false; readonly reason: 'not-in-era' }
    | { readonly ok: false; readonly reason: 'invalid'; readonly message: string };
}

/** The same adapter over the codec's `validateResult` as the SDK's, with issues worded the same way. */
function eraResultValidator(codec: ResultCodec, method: string): ResultValidator | undefined {
  const probe = codec.validateResult(method, undefined);
  if (!probe.ok && probe.reason === 'not-in-era') return undefined;
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp-wire-codec',
      validate(value) {
        const outcome = codec.validateResult(method, value);
        if (outcome.ok) return { value: outcome.value };
        return { issues: [{ message: outcome.reason === 'invalid' ? outcome.message : `not-in-era: ${method}` }] };
      },
    },
  };
}

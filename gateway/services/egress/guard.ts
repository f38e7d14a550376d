/**
 * The egress guard: the one way any connector reaches the network over HTTP.
 *
 * Every request is decided twice, each time with the same `decide` function the policy engine provides:
 *   1. before dispatch, on the URL's scheme, host and port (no IP yet); a literal IP host is also decided as
 *      an address right away, so it is refused without touching the network;
 *   2. at connect time, inside the `connect` function of a dedicated undici Agent, on every address the host
 *      resolves to (`ip` and `addressClass` set); the socket then goes to an address that was checked.
 * Redirects are followed here, never by undici, so each hop goes through both checks again.
 *
 * The Agent is ours alone: not the global dispatcher and not an environment-proxy agent, so HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY have no effect on where a request goes.
 *
 * Connections are pooled per scope (connector, tool, principal, task): a connection checked for one scope is
 * never reused by another whose policy may differ. Within a scope, before each request, the addresses of the
 * connections already open to the origin are decided again, so a policy reload that withdraws an address also
 * retires the keep-alive connections to it.
 *
 * Header policy (what may be sent) belongs to the credential step; the guard only makes sure that what it is
 * given goes to an allowed place, and drops credential headers when a redirect leaves their origin.
 */
import { promises as dns } from 'node:dns';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import type * as UndiciModule from 'undici';
import type { Agent, RequestInit as UndiciRequestInit, Response as UndiciResponse } from 'undici';
import type { FetchLike } from '../../../connectors/contract.js';
import type { Decision, EgressFacts, PrincipalFacts, TaskFacts } from '../../../policies/types.js';
import { canonicalJson } from '../../kernel/index.js';
import { classifyAddress, parseHostLiteral } from './address.js';
import { createGuardedConnect, type CheckedAddress, type ConnectTarget, type Lookup } from './connect.js';
import { EgressDeniedError, EgressError, isEgressError, type EgressDenial } from './errors.js';
import { limitBody, tooLarge } from './limit-body.js';
import { nextHop, type HopRequest } from './redirect.js';

export interface EgressGuardOptions {
  /** The egress policy. Pure and synchronous; a throw counts as a denial. Only `allow` lets a request pass. */
  decide: (facts: EgressFacts) => Decision;
  /** Name resolution returning every address; defaults to the system resolver (`dns.lookup`, all answers). */
  lookup?: Lookup;
  /** Redirects followed per request before giving up (default 5; 0 = none). */
  maxRedirects?: number;
  /** Cap on the decoded response body, in bytes (default 10 MiB). */
  maxResponseBytes?: number;
  /** Bound on the whole exchange, redirects and body included (default 30 s). */
  timeoutMs?: number;
  /** Bound on opening one connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Extra PEM certificates trusted for HTTPS backends, in addition to Node's bundled roots. */
  ca?: string | readonly string[];
  /** How many scopes keep their own connection pool before the least recently used one is closed (default 256). */
  maxPooledScopes?: number;
  /**
   * Told about every denied request or redirect hop, with the rules and the resolved address, so it can be
   * logged and audited. Errors thrown by it are ignored.
   */
  onDenied?: (denial: EgressDenial, scope: EgressScope) => void;
}

/** The facts of a request that do not change from one request to the next within a scope. */
export interface EgressScope {
  connector: string;
  /** Exposed tool name, when the requests belong to a tool call. */
  tool?: string;
  principal?: PrincipalFacts;
  task?: TaskFacts;
  /** Told about every hop, for tracing. Errors thrown by it are ignored. */
  onHop?: (hop: EgressHop) => void;
}

export interface EgressHop {
  /** 0 for the request as given, 1 for the first redirect, and so on. */
  index: number;
  method: string;
  /** `scheme://host[:port]/path`: never the query string or fragment, which may carry secrets. */
  url: string;
  outcome: 'response' | 'redirect' | 'denied' | 'error';
  /** HTTP status, for `response` and `redirect`. */
  status?: number;
  /** Error code, for `denied` and `error`. */
  code?: string;
}

export interface EgressGuard {
  /** A fetch bound to one scope. Rejects with EgressError (see its codes); otherwise behaves like fetch. */
  fetchFor(scope: EgressScope): FetchLike;
  /** Close every pooled connection; later requests fail with UPSTREAM_UNAVAILABLE. */
  close(): Promise<void>;
}

const DEFAULTS = {
  maxRedirects: 5,
  maxResponseBytes: 10 * 1024 * 1024,
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxPooledScopes: 256,
};
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

interface TrackedSocket {
  socket: Socket;
  address: CheckedAddress;
}

interface ScopePool {
  agent: Agent;
  /** Open sockets by origin (`scheme://host[:port]`), with the address each was checked for. */
  sockets: Map<string, Set<TrackedSocket>>;
}

type BaseFacts = Pick<EgressFacts, 'connector' | 'tool' | 'principal' | 'task'>;

type Undici = typeof UndiciModule;

/**
 * undici, loaded by the first request that passes the URL check, or ahead of it by `preloadEgressClient`:
 * loading it takes about a tenth of the gateway's start, which need not wait for it.
 */
let undiciModule: Promise<Undici> | undefined;
/** The module once loaded: the requests after the first take it as it is, without an await. */
let loadedUndici: Undici | undefined;
const loadUndici = (): Promise<Undici> => (undiciModule ??= import('undici').then((module) => (loadedUndici = module)));

/**
 * Load the HTTP client ahead of the first backend request, which then does not wait for it. The gateway
 * calls it once it serves requests; a failure is left to that first request to report.
 */
export function preloadEgressClient(): void {
  loadUndici().catch(() => undefined);
}

export function createEgressGuard(options: EgressGuardOptions): EgressGuard {
  const maxRedirects = options.maxRedirects ?? DEFAULTS.maxRedirects;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxPooledScopes = Math.max(1, options.maxPooledScopes ?? DEFAULTS.maxPooledScopes);
  const lookup = options.lookup ?? systemLookup;
  const extraCa = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
  /** undici's own connector, which the guarded connect wraps; built with the first pool. */
  let base: ReturnType<Undici['buildConnector']> | undefined;

  const pools = new Map<string, ScopePool>();
  const closing = new Set<Promise<void>>();
  let closed = false;

  /** Decide, failing closed: a throw or any effect but `allow` is a denial. */
  const denialFor = (facts: EgressFacts): EgressDenial | undefined => {
    let decision: Decision;
    try {
      decision = options.decide(facts);
    } catch {
      return denial(facts, [], 'the egress policy could not be evaluated');
    }
    if (decision.effect === 'allow') return undefined;
    if (decision.effect === 'approve')
      return denial(facts, decision.rules, 'the destination requires an approval, which egress cannot wait for');
    return denial(facts, decision.rules, decision.reason || 'not allowed by the egress policy');
  };

  const addressDecider =
    (baseFacts: BaseFacts) =>
    (target: ConnectTarget, address: CheckedAddress): EgressDenial | undefined =>
      denialFor({ ...baseFacts, ...target, ip: address.ip, addressClass: address.addressClass });

  const poolFor = (undici: Undici, baseFacts: BaseFacts): ScopePool => {
    const key = canonicalJson(baseFacts);
    const existing = pools.get(key);
    if (existing !== undefined) {
      // Re-insert to keep the map in least-recently-used order.
      pools.delete(key);
      pools.set(key, existing);
      return existing;
    }
    // Oldest first; deleting the entry being visited is safe while iterating a Map.
    for (const [oldKey, oldPool] of pools) {
      if (pools.size < maxPooledScopes) break;
      pools.delete(oldKey);
      retire(oldPool.agent);
    }
    const sockets = new Map<string, Set<TrackedSocket>>();
    base ??= undici.buildConnector({
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      ...(extraCa.length > 0 ? { ca: [...rootCertificates, ...extraCa] } : {}),
    });
    const agent = new undici.Agent({
      connect: createGuardedConnect({
        base,
        lookup,
        decideAddress: addressDecider(baseFacts),
        onConnected: (origin, socket, address) => {
          const tracked: TrackedSocket = { socket, address };
          let set = sockets.get(origin);
          if (set === undefined) sockets.set(origin, (set = new Set()));
          set.add(tracked);
          socket.once('close', () => {
            set.delete(tracked);
            if (set.size === 0 && sockets.get(origin) === set) sockets.delete(origin);
          });
        },
      }),
    });
    const pool: ScopePool = { agent, sockets };
    pools.set(key, pool);
    return pool;
  };

  /** Graceful close: requests already running on the agent finish first. */
  const retire = (agent: Agent): void => {
    const done = agent.close().catch(() => undefined);
    closing.add(done);
    void done.finally(() => closing.delete(done));
  };

  /** Step 1: decide on the URL before anything is dispatched. */
  const precheck = (baseFacts: BaseFacts, url: URL): ConnectTarget => {
    const scheme = url.protocol.slice(0, -1);
    const host = stripBrackets(url.hostname).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
      throw new EgressDeniedError({ scheme, host, port: 0, rules: [], reason: 'only http and https URLs are allowed' });
    }
    const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
    const target: ConnectTarget = { scheme, host, port };
    // A second line of defence no input reaches: the URL parser refuses an http(s) URL with an empty host.
    // Stryker disable next-line all: new URL() throws for every http or https URL without a host (parseUrl and nextHop build every URL this sees), so no test can reach the refusal.
    if (host === '') throw new EgressDeniedError({ ...target, rules: [], reason: 'the URL has no host' });
    if (url.username !== '' || url.password !== '') {
      throw new EgressDeniedError({ ...target, rules: [], reason: 'URLs with embedded credentials are not sent' });
    }
    const hostDenial = denialFor({ ...baseFacts, ...target });
    if (hostDenial !== undefined) throw new EgressDeniedError(hostDenial);
    const literal = parseHostLiteral(host);
    if (literal !== undefined) {
      const addressDenial = addressDecider(baseFacts)(target, { ip: literal, addressClass: classifyAddress(literal) });
      if (addressDenial !== undefined) throw new EgressDeniedError(addressDenial);
    }
    return target;
  };

  /** Retire open connections of this scope whose address the current policy no longer allows. */
  const revalidate = (pool: ScopePool, baseFacts: BaseFacts, url: URL, target: ConnectTarget): void => {
    const open = pool.sockets.get(url.origin);
    if (open === undefined) return;
    const decideAddress = addressDecider(baseFacts);
    for (const tracked of open) {
      if (decideAddress(target, tracked.address) !== undefined) tracked.socket.destroy();
    }
  };

  const fetchFor = (scope: EgressScope): FetchLike => {
    const baseFacts = factsOf(scope);
    const reportHop = (hop: EgressHop): void => {
      try {
        scope.onHop?.(hop);
      } catch {
        // Tracing must never change the outcome of a request.
      }
    };

    return async (input, init) => {
      if (closed) throw new EgressError('UPSTREAM_UNAVAILABLE', 'the egress guard is closed');
      const url = parseUrl(input);
      const headers = new Headers(init?.headers);
      // The Host header always names the URL's host: a different value would route the request to a
      // virtual host that was never decided on.
      headers.delete('host');
      let hop: HopRequest = { url, method: (init?.method ?? 'GET').toUpperCase(), headers, body: init?.body ?? null };

      const deadline = new AbortController();
      const timer = setTimeout(
        () =>
          deadline.abort(
            new EgressError('UPSTREAM_TIMEOUT', `request to ${hop.url.host} timed out after ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      timer.unref();
      const callerSignal = init?.signal ?? undefined;
      const signal = callerSignal ? AbortSignal.any([deadline.signal, callerSignal]) : deadline.signal;
      const settle = (): void => clearTimeout(timer);
      const mapError = (error: unknown): unknown => {
        const own = findEgressError(error);
        if (own !== undefined) return own;
        if (callerSignal?.aborted === true) return callerSignal.reason;
        if (deadline.signal.aborted) return deadline.signal.reason;
        return new EgressError('UPSTREAM_UNAVAILABLE', `request to ${hop.url.host} failed`, { cause: error });
      };

      try {
        for (let index = 0; ; index += 1) {
          const hopUrl = `${hop.url.origin}${hop.url.pathname}`;
          let response: UndiciResponse;
          let target: ConnectTarget;
          try {
            target = precheck(baseFacts, hop.url);
            const undici = loadedUndici ?? (await loadUndici());
            if (closed) throw new EgressError('UPSTREAM_UNAVAILABLE', 'the egress guard is closed');
            const pool = poolFor(undici, baseFacts);
            revalidate(pool, baseFacts, hop.url, target);
            response = await undici.fetch(hop.url, requestInit(init, hop, signal, pool.agent));
          } catch (error) {
            const mapped = mapError(error);
            reportHop({
              index,
              method: hop.method,
              url: hopUrl,
              outcome: mapped instanceof EgressDeniedError ? 'denied' : 'error',
              ...codeOf(mapped),
            });
            throw mapped;
          }

          const next = nextHopOrThrow(
            hop,
            target,
            response,
            index,
            { maxRedirects, mode: init?.redirect ?? 'follow' },
            reportHop,
            hopUrl,
          );
          if (next !== undefined) {
            await response.body?.cancel().catch(() => undefined);
            hop = next;
            continue;
          }
          reportHop({ index, method: hop.method, url: hopUrl, outcome: 'response', status: response.status });
          return finalResponse(response, hop.url, index > 0, { maxBytes: maxResponseBytes, mapError, settle });
        }
      } catch (error) {
        settle();
        if (error instanceof EgressDeniedError) {
          try {
            options.onDenied?.(error.denial, scope);
          } catch {
            // Reporting must never change the outcome of a request.
          }
        }
        throw error;
      }
    };
  };

  return {
    fetchFor,
    async close() {
      closed = true;
      for (const pool of pools.values()) retire(pool.agent);
      pools.clear();
      await Promise.all([...closing]);
    },
  };
}

/** The redirect to follow, undefined for a final response; throws (after cancelling the body) when following is refused. */
function nextHopOrThrow(
  hop: HopRequest,
  target: ConnectTarget,
  response: UndiciResponse,
  index: number,
  redirects: { maxRedirects: number; mode: NonNullable<RequestInit['redirect']> },
  reportHop: (hop: EgressHop) => void,
  hopUrl: string,
): HopRequest | undefined {
  // `redirect: 'manual'` from the caller: the 3xx is the answer (fetch semantics).
  if (redirects.mode === 'manual') return undefined;
  let next: HopRequest | undefined;
  try {
    next = nextHop(hop, response.status, response.headers.get('location'));
    if (next !== undefined && redirects.mode === 'error') {
      throw new EgressError(
        'UPSTREAM_ERROR',
        `${hop.url.host} answered with a redirect, which the request does not allow`,
      );
    }
    if (next !== undefined && index >= redirects.maxRedirects) {
      throw new EgressDeniedError({
        ...target,
        rules: [],
        reason: `too many redirects (limit ${redirects.maxRedirects})`,
      });
    }
  } catch (error) {
    void response.body?.cancel().catch(() => undefined);
    reportHop({
      index,
      method: hop.method,
      url: hopUrl,
      outcome: error instanceof EgressDeniedError ? 'denied' : 'error',
      status: response.status,
      ...codeOf(error),
    });
    throw error;
  }
  if (next !== undefined)
    reportHop({ index, method: hop.method, url: hopUrl, outcome: 'redirect', status: response.status });
  return next;
}

function finalResponse(
  response: UndiciResponse,
  url: URL,
  redirected: boolean,
  limits: { maxBytes: number; mapError: (error: unknown) => unknown; settle: () => void },
): Response {
  const host = url.host;
  let body: ReadableStream<Uint8Array> | null = null;
  const upstream = response.body as ReadableStream<Uint8Array> | null;
  if (upstream === null || NULL_BODY_STATUSES.has(response.status)) {
    void upstream?.cancel().catch(() => undefined);
    limits.settle();
  } else {
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      void upstream.cancel().catch(() => undefined);
      throw tooLarge(host, limits.maxBytes);
    }
    body = limitBody(upstream, {
      maxBytes: limits.maxBytes,
      host,
      mapError: limits.mapError,
      onSettled: limits.settle,
    });
  }
  const result = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers as unknown as Headers,
  });
  // A constructed Response has an empty url; callers resolving relative links need the final one.
  Object.defineProperty(result, 'url', { value: url.href });
  Object.defineProperty(result, 'redirected', { value: redirected });
  return result;
}

function requestInit(
  init: RequestInit | undefined,
  hop: HopRequest,
  signal: AbortSignal,
  dispatcher: Agent,
): UndiciRequestInit {
  const streamed = hop.body instanceof ReadableStream || isAsyncIterable(hop.body);
  return {
    ...(init as UndiciRequestInit | undefined),
    method: hop.method,
    headers: hop.headers as unknown as NonNullable<UndiciRequestInit['headers']>,
    body: (hop.body ?? null) as NonNullable<UndiciRequestInit['body']> | null,
    redirect: 'manual',
    signal,
    dispatcher,
    ...(streamed ? { duplex: 'half' as const } : {}),
  };
}

function factsOf(scope: EgressScope): BaseFacts {
  const facts: BaseFacts = { connector: scope.connector };
  if (scope.tool !== undefined) facts.tool = scope.tool;
  if (scope.principal !== undefined) {
    // Only the policy-visible fields: the scope may carry a richer principal object.
    const { agentId, roles, tenant, environment, authMethod } = scope.principal;
    facts.principal = {
      agentId,
      roles: [...roles],
      ...(tenant !== undefined ? { tenant } : {}),
      ...(environment !== undefined ? { environment } : {}),
      ...(authMethod !== undefined ? { authMethod } : {}),
    };
  }
  if (scope.task !== undefined) facts.task = scope.task;
  return facts;
}

function parseUrl(input: string | URL): URL {
  try {
    return new URL(String(input));
  } catch {
    throw new EgressDeniedError({ scheme: 'invalid', host: '', port: 0, rules: [], reason: 'the URL is not valid' });
  }
}

function denial(facts: EgressFacts, rules: readonly string[], reason: string): EgressDenial {
  const result: EgressDenial = { scheme: facts.scheme, host: facts.host, port: facts.port, rules: [...rules], reason };
  if (facts.ip !== undefined) result.ip = facts.ip;
  if (facts.addressClass !== undefined) {
    result.addressClass = facts.addressClass;
    result.reason = `${reason} (${facts.addressClass} address)`;
  }
  return result;
}

/** undici wraps connect errors in `TypeError('fetch failed')`; ours may be a few causes down. */
function findEgressError(error: unknown): EgressError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    if (isEgressError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function codeOf(error: unknown): { code?: string } {
  return isEgressError(error) ? { code: error.code } : {};
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

async function systemLookup(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
}

/**
 * Sealed values the gateway hands to 2026-07-28 agents and takes back: the `requestState` of an
 * `input_required` result and the task handle in a result's `_meta`. A sealed value is
 * `v1.<payload>.<mac>` (base64url JSON and HMAC-SHA256 under the state-sealing key), so any instance
 * holding the key can check it; it is signed, not encrypted, and carries no secret (the principal and the
 * call appear only as digests).
 *
 * Opening checks, in order, each with its own stable code: the shape and MAC (STATE_INVALID), the kind,
 * the principal and the call it is bound to (STATE_MISMATCH), the expiry (STATE_EXPIRED). Single use is
 * the caller's part (see `gateway/stores/once-claims.ts`).
 */
import { createHmac, createSecretKey, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { canonicalHash, GatewayError, type Principal } from '../../kernel/index.js';

export interface SealedPayload {
  /** What the value is: `input` (a request state) or `task` (a task handle). */
  k: 'input' | 'task';
  /** Digest of the principal it was issued to. */
  p: string;
  /** Epoch seconds after which it is refused. */
  exp: number;
  /** Random id: the single-use key of a request state. */
  n: string;
  /** Digest of the call (method, name, arguments) a request state belongs to. */
  c?: string;
  /** Input request state: the held call it resumes and the keys of the requests the agent must answer. */
  h?: string;
  keys?: string[];
  /**
   * Input request state of a round an upstream made itself (a 2026-07-28 upstream's `input_required`):
   * the upstream's own `requestState` (`s`, absent when it gave none) and the keys it asked, sent to it
   * again with the agent's answers on the retry. Nothing is held for such a state.
   */
  u?: { s?: string; keys: string[] };
  /** Task handle: the task id. */
  t?: string;
}

export interface StateSealer {
  seal(payload: Omit<SealedPayload, 'n'> & { n?: string }): string;
  /** Opens and checks a sealed value; throws GatewayError with a STATE_* code. */
  open(value: unknown, expect: { kind: SealedPayload['k']; principal: Principal; call?: string }): SealedPayload;
}

const PREFIX = 'v1';
/** The longest sealed value opened (with room for an upstream's own request state inside). */
export const MAX_SEALED_LENGTH = 65_536;

/**
 * Intact values opened lately, by their exact text: an agent echoes the same task handle on every request
 * of a task, and its MAC and JSON need checking only once. Only the integrity check is skipped: kind,
 * principal, call and expiry are checked on every open. Short values only, the least recently used
 * forgotten first, so the memory it can hold is bounded.
 */
const REMEMBERED_VALUES = 1024;
const REMEMBERED_MAX_LENGTH = 1024;

export function createStateSealer(key: Uint8Array, now: () => number = Date.now): StateSealer {
  if (key.byteLength < 32) throw new Error('the state-sealing key must be at least 32 bytes');
  const hmacKey = createSecretKey(key);
  const mac = (body: string) => createHmac('sha256', hmacKey).update(`portcullis.state.${body}`).digest();
  const intact = new LRUCache<string, Readonly<SealedPayload>>({ max: REMEMBERED_VALUES });

  /** The payload of a value whose shape and MAC check out; throws STATE_INVALID otherwise. */
  const verified = (value: unknown): Readonly<SealedPayload> => {
    if (typeof value !== 'string' || value.length > MAX_SEALED_LENGTH) throw invalid();
    const known = intact.get(value);
    if (known !== undefined) return known;
    const [prefix, body, tag, extra] = value.split('.');
    if (prefix !== PREFIX || body === undefined || tag === undefined || extra !== undefined) throw invalid();
    // The tag is compared as the exact base64url text the gateway writes: decoding it first would also
    // accept other spellings of the same bytes (the unused low bits of its last character).
    const given = Buffer.from(tag, 'latin1');
    const wanted = Buffer.from(mac(body).toString('base64url'), 'latin1');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) throw invalid();
    let payload: SealedPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SealedPayload;
    } catch {
      throw invalid();
    }
    const frozen = Object.freeze(payload);
    if (value.length <= REMEMBERED_MAX_LENGTH) intact.set(value, frozen);
    return frozen;
  };

  return {
    seal(payload) {
      const body = Buffer.from(
        JSON.stringify({ ...payload, n: payload.n ?? randomBytes(16).toString('base64url') }),
      ).toString('base64url');
      return `${PREFIX}.${body}.${mac(body).toString('base64url')}`;
    },
    open(value, expect) {
      const payload = verified(value);
      if (payload.k !== expect.kind) throw new GatewayError('STATE_MISMATCH', 'the sealed value is of another kind');
      if (payload.p !== principalDigest(expect.principal))
        throw new GatewayError('STATE_MISMATCH', 'the sealed value was issued to another principal');
      if (expect.call !== undefined && payload.c !== expect.call)
        throw new GatewayError('STATE_MISMATCH', 'the request state belongs to another call');
      if (typeof payload.exp !== 'number' || payload.exp * 1000 <= now())
        throw new GatewayError('STATE_EXPIRED', 'the sealed value has expired; call again without it');
      return payload;
    },
  };
}

function invalid(): GatewayError {
  return new GatewayError('STATE_INVALID', 'the sealed value failed its integrity check');
}

/**
 * Digests by the principal fields they cover: a 2026-07-28 agent's every request opens its task handle,
 * which compares the digest of the same principal. The least recently used go first.
 */
const principalDigests = new LRUCache<string, string>({ max: 1024 });

/** The principal as a sealed value binds it: the same fields that bind a 2025 session (`samePrincipal`). */
export function principalDigest(principal: Principal): string {
  const fields = JSON.stringify([
    principal.authMethod,
    principal.agentId,
    principal.taskId ?? '',
    principal.tenant ?? '',
    principal.issuer ?? '',
    principal.subject ?? '',
  ]);
  let digest = principalDigests.get(fields);
  if (digest === undefined) {
    digest = hash('sha256', fields, 'base64url').slice(0, 32);
    if (fields.length <= REMEMBERED_MAX_LENGTH) principalDigests.set(fields, digest);
  }
  return digest;
}

/** The call a request state belongs to: its method, the name it targets and the exact arguments. */
export function callDigest(method: string, name: string, args: unknown): string {
  return canonicalHash({ method, name, args: args ?? {} });
}

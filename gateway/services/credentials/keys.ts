/**
 * The gateway's signing key set: the only keys task tokens and call credentials are signed with, and the
 * only keys the gateway accepts its own tokens from.
 *
 * One key is active (it signs). After a rotation the previous keys stay published in the JWKS, and stay
 * valid for verification, until their overlap ends, so tokens signed just before the rotation keep
 * verifying until they expire. The overlap must therefore be at least the longest token lifetime plus the
 * clock tolerance. `kid` is the RFC 7638 thumbprint of the public key, so it is stable wherever the same key
 * is loaded (several instances sharing one key publish the same `kid`).
 *
 * Key material arrives as text (PKCS#8 PEM or a private JWK): resolving `env:`/`file:` references is the
 * composition root's job. In dev mode the set is generated on first start and persisted (mode 0600) in a
 * directory, so tokens survive restarts.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { Secret } from '../../kernel/index.js';

export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Default time a rotated-out key stays valid: covers the longest default task TTL plus tolerance. */
export const DEFAULT_OVERLAP_SECONDS = 3600;

export class KeyMaterialError extends Error {
  override readonly name = 'KeyMaterialError';
  readonly code = 'INVALID_KEY_MATERIAL';
}

export interface SigningKey {
  /** RFC 7638 thumbprint (sha256) of the public key. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Non-extractable private key. */
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Public JWK with `kid`, `alg` and `use: sig`; never contains private members. */
  readonly publicJwk: Readonly<JWK>;
}

export interface KeySet {
  /** Algorithms of the keys currently accepted; verification pins `alg` to these. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** The key that signs now. */
  signingKey(): SigningKey;
  /** A key that may verify a token with this `kid`: the active key or one still inside its overlap. */
  verificationKey(kid: string): SigningKey | undefined;
  /** Public keys only: the active key and every previous key whose overlap has not ended. */
  jwks(): JSONWebKeySet;
  /**
   * Make `next` (or a freshly generated key of the active algorithm) the active key. The old active key
   * stays valid for `overlapSeconds`. Persisted when the set was opened from a directory.
   */
  rotate(next?: SigningKey, options?: { overlapSeconds?: number }): Promise<SigningKey>;
}

export interface PreviousKey {
  key: SigningKey;
  /** Epoch ms after which the key is neither published nor accepted. */
  retiresAt: number;
}

export interface KeySetOptions {
  active: SigningKey;
  previous?: readonly PreviousKey[];
  overlapSeconds?: number;
  now?: () => number;
  /** Called after every rotation with the new state (used to persist dev keys). */
  onRotate?: (state: { active: SigningKey; previous: readonly PreviousKey[] }) => Promise<void>;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

function inferAlgorithm(jwk: JWK): SigningAlgorithm {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new KeyMaterialError('unsupported key type: expected EC P-256/P-384, Ed25519 or RSA');
}

function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

async function fromPrivateJwk(privateJwk: JWK, alg: SigningAlgorithm): Promise<SigningKey> {
  if (typeof privateJwk.d !== 'string') throw new KeyMaterialError('signing key JWK has no private part');
  const publicMembers: JWK = {};
  for (const member of PUBLIC_MEMBERS) if (privateJwk[member] !== undefined) publicMembers[member] = privateJwk[member];
  const kid = await calculateJwkThumbprint(publicMembers, 'sha256');
  const publicJwk: JWK = Object.freeze({ ...publicMembers, kid, alg, use: 'sig' });
  const { kid: _k, alg: _a, use: _u, key_ops: _o, ext: _e, ...privateMembers } = privateJwk;
  const [privateKey, publicKey] = await Promise.all([
    importJWK({ ...privateMembers }, alg, { extractable: false }),
    importJWK({ ...publicMembers }, alg),
  ]);
  if (!isCryptoKey(privateKey) || !isCryptoKey(publicKey)) throw new KeyMaterialError('unsupported key material');
  return Object.freeze({ kid, alg, privateKey, publicKey, publicJwk });
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof value === 'object' && value !== null && 'type' in value && 'algorithm' in value;
}

/**
 * Import a private signing key from PKCS#8 PEM or a private JWK (JSON text). For PEM the algorithm is
 * `options.alg` (default ES256); for a JWK it is its `alg`, else inferred from the key type.
 * Errors never include the material.
 */
export async function importSigningKey(
  material: string | Secret,
  options: { alg?: SigningAlgorithm } = {},
): Promise<SigningKey> {
  const text = (material instanceof Secret ? material.reveal() : material).trim();
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as JWK;
      const declared = jwk.alg ?? options.alg;
      if (declared !== undefined && !isSigningAlgorithm(declared))
        throw new KeyMaterialError('unsupported signing algorithm');
      return await fromPrivateJwk(jwk, declared ?? inferAlgorithm(jwk));
    }
    if (text.startsWith('-----BEGIN PRIVATE KEY-----')) {
      const alg = options.alg ?? 'ES256';
      const extractable = await importPKCS8(text, alg, { extractable: true });
      return await fromPrivateJwk(await exportJWK(extractable), alg);
    }
  } catch (error) {
    if (error instanceof KeyMaterialError) throw error;
    throw new KeyMaterialError('signing key could not be imported (malformed or does not match the algorithm)');
  }
  throw new KeyMaterialError('signing key must be a PKCS#8 PEM ("BEGIN PRIVATE KEY") or a private JWK');
}

/** Generate a new signing key (ES256 unless told otherwise). */
export async function generateSigningKey(alg: SigningAlgorithm = 'ES256'): Promise<SigningKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return fromPrivateJwk(await exportJWK(pair.privateKey), alg);
}

export function createKeySet(options: KeySetOptions): KeySet {
  const now = options.now ?? Date.now;
  const defaultOverlapMs = (options.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000;
  let active = options.active;
  let previous: PreviousKey[] = [...(options.previous ?? [])];

  function live(): PreviousKey[] {
    const t = now();
    if (previous.some((p) => p.retiresAt <= t)) previous = previous.filter((p) => p.retiresAt > t);
    return previous;
  }

  return {
    get algorithms() {
      return [...new Set([active.alg, ...live().map((p) => p.key.alg)])];
    },
    signingKey: () => active,
    verificationKey(kid) {
      if (kid === active.kid) return active;
      return live().find((p) => p.key.kid === kid)?.key;
    },
    jwks() {
      return { keys: [active.publicJwk, ...live().map((p) => p.key.publicJwk)].map((jwk) => ({ ...jwk })) };
    },
    async rotate(next, rotateOptions = {}) {
      const key = next ?? (await generateSigningKey(active.alg));
      if (key.kid === active.kid) return active;
      const overlapMs =
        rotateOptions.overlapSeconds !== undefined ? rotateOptions.overlapSeconds * 1000 : defaultOverlapMs;
      previous = [...live().filter((p) => p.key.kid !== key.kid), { key: active, retiresAt: now() + overlapMs }];
      active = key;
      await options.onRotate?.({ active, previous: [...previous] });
      return active;
    },
  };
}

/** Load a key set from resolved material: the active key and previous keys with their retirement times. */
export async function loadKeySet(options: {
  active: string | Secret;
  previous?: readonly { material: string | Secret; retiresAt: number }[];
  alg?: SigningAlgorithm;
  overlapSeconds?: number;
  now?: () => number;
}): Promise<KeySet> {
  const importOptions = options.alg !== undefined ? { alg: options.alg } : {};
  const active = await importSigningKey(options.active, importOptions);
  const previous = await Promise.all(
    (options.previous ?? []).map(async (p) => ({
      key: await importSigningKey(p.material, importOptions),
      retiresAt: p.retiresAt,
    })),
  );
  return createKeySet({
    active,
    previous,
    ...(options.overlapSeconds !== undefined ? { overlapSeconds: options.overlapSeconds } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}

const DEV_KEY_FILE = 'signing-keys.json';

interface DevKeyFile {
  version: 1;
  keys: { jwk: JWK; retiresAt?: number }[];
}

/**
 * Dev mode: open the key set persisted in `dir` (created with mode 0700, file 0600), generating the first
 * key when there is none. Rotations are written back atomically. Not for production: the private key sits
 * on local disk and is not shared between instances.
 */
export async function openDevKeySet(options: {
  dir: string;
  alg?: SigningAlgorithm;
  overlapSeconds?: number;
  now?: () => number;
}): Promise<KeySet> {
  const file = path.join(options.dir, DEV_KEY_FILE);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const privateJwks = new Map<string, JWK>();

  async function persist(state: { active: SigningKey; previous: readonly PreviousKey[] }): Promise<void> {
    const body: DevKeyFile = {
      version: 1,
      keys: [
        { jwk: privateJwks.get(state.active.kid) as JWK },
        ...state.previous.flatMap((p) => {
          const jwk = privateJwks.get(p.key.kid);
          return jwk === undefined ? [] : [{ jwk, retiresAt: p.retiresAt }];
        }),
      ],
    };
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, file);
  }

  async function generate(alg: SigningAlgorithm): Promise<SigningKey> {
    const pair = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(pair.privateKey)), alg };
    const key = await fromPrivateJwk(jwk, alg);
    privateJwks.set(key.kid, jwk);
    return key;
  }

  let stored: DevKeyFile | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as DevKeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeyMaterialError(`dev signing keys in ${file} cannot be read`);
    }
  }

  let active: SigningKey;
  const previous: PreviousKey[] = [];
  if (stored === undefined || !Array.isArray(stored.keys) || stored.keys[0] === undefined) {
    active = await generate(options.alg ?? 'ES256');
    await persist({ active, previous });
  } else {
    const [first, ...rest] = stored.keys;
    const load = async (jwk: JWK): Promise<SigningKey> => {
      const key = await importSigningKey(JSON.stringify(jwk));
      privateJwks.set(key.kid, jwk);
      return key;
    };
    active = await load(first.jwk);
    for (const entry of rest) previous.push({ key: await load(entry.jwk), retiresAt: entry.retiresAt ?? 0 });
  }

  const set = createKeySet({
    active,
    previous,
    ...(options.overlapSeconds !== undefined ? { overlapSeconds: options.overlapSeconds } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    onRotate: persist,
  });
  return {
    get algorithms() {
      return set.algorithms;
    },
    signingKey: () => set.signingKey(),
    verificationKey: (kid) => set.verificationKey(kid),
    jwks: () => set.jwks(),
    // A dev set generates its own next key so the private half can be persisted.
    rotate: async (next, rotateOptions) => {
      if (next !== undefined && !privateJwks.has(next.kid)) {
        throw new KeyMaterialError('a dev key set only rotates to keys it generates itself');
      }
      return set.rotate(next ?? (await generate(set.signingKey().alg)), rotateOptions);
    },
  };
}

/**
 * The hash chain shared by every audit sink and the verifier.
 *
 * A record is sealed by giving it the next `seq`, a timestamp, the previous record's hash as `prev`
 * (64 zeros for the first record) and `hash` = sha256 over the record's JSON text without `hash`: its line
 * as written, with the `,"hash":"…"` member that ends it taken out. Editing, removing, inserting or
 * reordering any record then breaks either its own hash, the `seq` sequence or the next record's `prev`
 * link; so does reordering the members of a line or adding whitespace to it, since the text is what is
 * hashed. Anyone can check a line with a sha256 tool and no JSON library.
 *
 * Records sealed before this rule hashed the canonical JSON of the record (keys sorted at every depth,
 * kernel/canonical-json.ts) instead; they still check out (`lineHashChecks`), so a log begun before it is
 * continued and verified as it is.
 */
import { setMember } from '../../../connectors/contract.js';
import { canonicalHash, isPlainJson, sha256Hex, someJsonKey } from '../../kernel/index.js';
import type { AuditRecord, AuditRecordInput } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The head of a chain: what the next record links to, and what checkpoints record. */
export interface AuditChainHead {
  /** Sequence number of the last record (0 when the log is empty). */
  seq: number;
  /** Hash of the last record (GENESIS_HASH when the log is empty). */
  hash: string;
}

export const EMPTY_HEAD: AuditChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Keys whose values are never written to the audit log, at any depth of `detail`. Records must not carry
 * secrets in the first place; this is a last line of defence against a caller passing a header map or a
 * config object by mistake. Matching is case-insensitive on the key name (`accessToken`, `x-api-key`,
 * `client_secret`, `Authorization`, `password`, `cookie`, `credential`...).
 */
const SECRET_KEY_PATTERN = /token|secret|passw(?:or)?d|authori[sz]ation|api[-_]?key|cookie|credential|private[-_]?key/i;

export const REDACTED = '[redacted]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** Copy of `detail` with the values of secret-looking keys replaced by `[redacted]`, recursively. */
export function redactDetail(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactDetail);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value))
      setMember(out, key, isSecretKey(key) ? REDACTED : redactDetail(member));
    return out;
  }
  return value;
}

/**
 * sha256 (hex) over the JSON of the record without its `hash` member, members in the record's order: for a
 * record parsed from a line this log wrote, the line's text without its hash member.
 */
export function computeRecordHash(record: object): string {
  const { hash: _hash, ...body } = record as Record<string, unknown>;
  return sha256Hex(JSON.stringify(body));
}

/** How a line this log writes ends: the hash member, 64 hex digits, the end of the object. */
const HASH_MEMBER = ',"hash":"';
const HASH_SUFFIX_LENGTH = HASH_MEMBER.length + 64 + 2;

/**
 * Whether a line's record (`record`, the line parsed) checks out: its `hash` is sha256 over the line
 * without its closing hash member, or, for a record sealed before that rule, over the canonical JSON of the
 * record without `hash` (`legacyRecordHash`). `line` is the text without its newline.
 */
export function lineHashChecks(line: string, record: { hash: string }): boolean {
  if (line.endsWith(`${HASH_MEMBER}${record.hash}"}`)) {
    if (sha256Hex(`${line.slice(0, line.length - HASH_SUFFIX_LENGTH)}}`) === record.hash) return true;
  }
  return legacyRecordHash(record) === record.hash;
}

/** The hash of the rule before: sha256 (hex) over the canonical JSON of the record without `hash`. */
export function legacyRecordHash(record: object): string {
  const { hash: _hash, ...body } = record as Record<string, unknown>;
  return canonicalHash(body);
}

/**
 * Turn an input into the next record of the chain. Pure: the caller owns the head and must advance it
 * to `{ seq: record.seq, hash: record.hash }` in the same order records are written.
 */
export function sealRecord(input: AuditRecordInput, head: AuditChainHead, now: Date): AuditRecord {
  return sealNormalised(JSON.parse(JSON.stringify(input)) as Record<string, unknown>, head, now);
}

/** `sealRecord` of an input already normalised through JSON (a fresh object this function may change). */
function sealNormalised(normalised: Record<string, unknown>, head: AuditChainHead, now: Date): AuditRecord {
  // Chain fields are ours; an input must not be able to pre-set them.
  delete normalised['seq'];
  delete normalised['ts'];
  delete normalised['prev'];
  delete normalised['hash'];
  if (normalised['detail'] !== undefined) normalised['detail'] = redactDetail(normalised['detail']);
  const unsealed = { seq: head.seq + 1, ts: now.toISOString(), ...normalised, prev: head.hash };
  // The verifier's own computation, over the record it will parse back from the line.
  const hash = computeRecordHash(unsealed);
  return { ...(unsealed as Omit<AuditRecord, 'hash'>), hash };
}

/**
 * One JSONL line (with the trailing newline). A sealed record's `hash` is its last member, so the line
 * without it is the text its hash covers.
 */
export function serialiseRecord(record: AuditRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** A record as a log writes it: its chain fields and its JSONL line. */
export interface SealedLine {
  seq: number;
  ts: string;
  hash: string;
  /** Exactly `serialiseRecord(sealRecord(input, head, now))`. */
  line: string;
}

/**
 * `sealRecord` and `serialiseRecord` in one, for writers that need only the line and the chain fields:
 * the same bytes and hash, without building the record object and serialising it again. An input that is
 * already what the record carries (plain JSON data, no chain field, nothing in `detail` to redact, no
 * index-like key, which an object would move ahead of `seq`) is written from its own JSON between the chain
 * fields, and that text is what is hashed. Any other input is sealed as `sealRecord` seals it, from a copy
 * normalised through JSON.
 */
export function sealLine(input: AuditRecordInput, head: AuditChainHead, now: Date): SealedLine {
  const json = JSON.stringify(input);
  if (!writtenAsIs(input)) {
    const record = sealNormalised(JSON.parse(json) as Record<string, unknown>, head, now);
    return { seq: record.seq, ts: record.ts, hash: record.hash, line: serialiseRecord(record) };
  }
  const seq = head.seq + 1;
  const ts = now.toISOString();
  const members = json.length > 2 ? `${json.slice(1, -1)},` : '';
  const unhashed = `{"seq":${seq},"ts":${JSON.stringify(ts)},${members}"prev":${JSON.stringify(head.hash)}`;
  const hash = sha256Hex(`${unhashed}}`);
  return { seq, ts, hash, line: `${unhashed}${HASH_MEMBER}${hash}"}\n` };
}

const CHAIN_FIELDS: readonly string[] = ['seq', 'ts', 'prev', 'hash'];
const INDEX_LIKE = /^(?:0|[1-9]\d*)$/;

/**
 * Whether an input is written as it is: see `sealLine`. Plain JSON data only (`isPlainJson`): the check for
 * secret-looking keys in `detail` and the line are two reads of it, which a `toJSON` could answer
 * differently (the normalising path asks each `toJSON` once, and redacts what it answered).
 */
function writtenAsIs(input: object): boolean {
  for (const key of Object.keys(input)) {
    if (CHAIN_FIELDS.includes(key) || (isDigit(key.charCodeAt(0)) && INDEX_LIKE.test(key))) return false;
  }
  return isPlainJson(input) && !someJsonKey((input as { detail?: unknown }).detail, isSecretKey);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Structural check of a parsed line: the chain fields are present and well-formed. */
export function isChainedRecord(value: unknown): value is AuditRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(record['seq']) &&
    (record['seq'] as number) >= 1 &&
    typeof record['ts'] === 'string' &&
    typeof record['prev'] === 'string' &&
    HEX64.test(record['prev']) &&
    typeof record['hash'] === 'string' &&
    HEX64.test(record['hash']) &&
    typeof record['event'] === 'string'
  );
}

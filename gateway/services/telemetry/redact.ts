/**
 * Last-line guard for span attributes: whatever reaches a span through `redactAttributes` cannot carry a
 * credential by accident. Code must still not put secrets there on purpose; this catches header maps,
 * config objects and bearer strings passed along by mistake.
 *
 * Rules: an attribute whose key (last dotted segment) names a credential (`authorization`, `cookie`,
 * `*token`, `*secret*`, `*password*`, `api_key`, `private_key`) is replaced by `[redacted]`, at any depth;
 * string values that look like a bearer header or a JWT are replaced too; `Secret` values print
 * `[redacted]` anyway. Objects become JSON strings, `undefined`/`null` are dropped, long strings are cut.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import { setMember } from '../../../connectors/contract.js';
import { isSecret } from '../../kernel/index.js';

export const REDACTED = '[redacted]';
const DEFAULT_MAX_LENGTH = 1024;

const SECRET_SEGMENT =
  /^(?:.*[-_])?(?:token|authorization|cookie|set-cookie|api[-_]?key|apikey|private[-_]?key|credentials?)$|secret|passw(?:or)?d/i;
const SECRET_VALUE = /^(?:bearer|basic)\s+\S|^eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*$/i;

/**
 * Verdicts of `isSecretAttributeKey` by key. Every span asks about the same few attribute keys, so each is
 * tested once; only short keys are kept, and the least recently used go first, since nested objects bring
 * keys from data.
 */
const keyVerdicts = new LRUCache<string, boolean>({ max: 1024 });
const MAX_REMEMBERED_KEY_LENGTH = 128;

export function isSecretAttributeKey(key: string): boolean {
  const known = keyVerdicts.get(key);
  if (known !== undefined) return known;
  const secret = SECRET_SEGMENT.test(key.slice(key.lastIndexOf('.') + 1));
  if (key.length <= MAX_REMEMBERED_KEY_LENGTH) keyVerdicts.set(key, secret);
  return secret;
}

export function redactAttributes(
  attributes: Readonly<Record<string, unknown>>,
  options: { maxLength?: number } = {},
): Attributes {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const out: Attributes = {};
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    out[key] = isSecretAttributeKey(key) ? REDACTED : toAttributeValue(value, maxLength);
  }
  return out;
}

function toAttributeValue(value: unknown, maxLength: number): AttributeValue {
  if (isSecret(value)) return REDACTED;
  switch (typeof value) {
    case 'string':
      return cleanString(value, maxLength);
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    default:
      break;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return value.map((v: string) => cleanString(v, maxLength));
    if (value.every((v) => typeof v === 'number')) return value as number[];
    if (value.every((v) => typeof v === 'boolean')) return value as boolean[];
  }
  let json: string;
  try {
    json = JSON.stringify(deepRedact(value)) ?? String(value);
  } catch {
    json = '[unserialisable]';
  }
  return truncate(json, maxLength);
}

function deepRedact(value: unknown): unknown {
  if (isSecret(value)) return REDACTED;
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? REDACTED : value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(deepRedact);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value))
      setMember(out, key, isSecretAttributeKey(key) ? REDACTED : deepRedact(member));
    return out;
  }
  return value;
}

function cleanString(value: string, maxLength: number): string {
  return SECRET_VALUE.test(value) ? REDACTED : truncate(value, maxLength);
}

function truncate(value: string, maxLength: number): string {
  return value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
}

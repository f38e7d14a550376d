/**
 * The policy version: a sha256 over the canonical content of everything that can change a decision.
 *
 * Canonical means: documents as validated (defaults filled in), object keys sorted, documents sorted by
 * their canonical text, generated rules appended in order. File names, key order, comments, YAML style and
 * test cases do not change the version; any change to a rule, a trust list or a description does.
 */
import { createHash } from 'node:crypto';
import type { PolicyDocument, Rule } from './schema.js';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function policyVersion(documents: readonly PolicyDocument[], extraRules: readonly Rule[]): string {
  const docs = documents.map(({ tests: _tests, ...decisionRelevant }) => canonicalJson(decisionRelevant)).sort();
  const text = canonicalJson({ documents: docs, extraRules });
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

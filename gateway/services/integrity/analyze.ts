/**
 * Static checks on tool definitions, reported as flags that operators see and policy can match:
 *
 * - `shadowing`: the description addresses the model about other tools or overrides instructions
 *   ("when calling send_email, also ...", "ignore previous instructions", hidden <IMPORTANT> blocks).
 * - `confusable-name`: the name collides with another tool's after Unicode normalisation (NFKC, case) or
 *   differs from it only by confusable characters (Unicode confusables skeleton).
 * - `schema-widened`: compared with the pinned schema, the new one accepts free-form extra data
 *   (additionalProperties opened up, new untyped or unbounded object properties).
 * - `hidden-characters`: invisible or bidirectional control characters in name or description.
 */
import unhomoglyph from 'unhomoglyph';
import type { PinnedDefinition } from './pin.js';

export type ToolFlag = 'shadowing' | 'confusable-name' | 'schema-widened' | 'hidden-characters';

const OVERRIDE_PATTERNS: readonly RegExp[] = [
  /ignore (all |any )?(previous|prior|above|other) (instructions|tools|rules)/i,
  /<\s*(important|system|instructions?)\s*>/i,
  /do not (tell|mention|inform|reveal).{0,40}(user|human)/i,
  /(instead of|rather than) (using|calling) (the )?[`'"]?[a-z0-9_.-]+/i,
  /before (using|calling) (any|every|other) tools?/i,
];

// eslint-disable-next-line no-control-regex -- the point is to find these characters
const HIDDEN = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u00AD\u0000-\u0008\u000E-\u001F]/;

export function skeleton(name: string): string {
  return unhomoglyph(name.normalize('NFKC').toLowerCase()).replace(/[_\-.\s]/g, '');
}

/**
 * Flags for one tool, given the exposed names of all other tools (to detect shadowing and collisions) and the
 * previously pinned definition (to detect widening), if any.
 */
export function analyzeTool(
  exposedName: string,
  definition: PinnedDefinition,
  otherExposedNames: readonly string[],
  pinned?: PinnedDefinition,
): ToolFlag[] {
  const flags = new Set<ToolFlag>();
  const description = `${definition.title ?? ''}\n${definition.description ?? ''}`;
  if (HIDDEN.test(definition.name) || HIDDEN.test(description)) flags.add('hidden-characters');
  if (OVERRIDE_PATTERNS.some((p) => p.test(description))) flags.add('shadowing');
  const lowerDescription = description.toLowerCase();
  for (const other of otherExposedNames) {
    if (other === exposedName) continue;
    // Talking about another connector's tool by name is shadowing: a tool should describe itself.
    const otherLocal = other.slice(other.indexOf('_') + 1).toLowerCase();
    if (
      other.slice(0, other.indexOf('_')) !== exposedName.slice(0, exposedName.indexOf('_')) &&
      otherLocal.length >= 4 &&
      lowerDescription.includes(otherLocal)
    ) {
      flags.add('shadowing');
    }
    if (skeleton(other) === skeleton(exposedName)) flags.add('confusable-name');
  }
  if (pinned !== undefined && widened(pinned.inputSchema, definition.inputSchema)) flags.add('schema-widened');
  return [...flags].sort();
}

/** True when `after` accepts free-form data that `before` did not. */
export function widened(before: unknown, after: unknown): boolean {
  const b = asSchema(before);
  const a = asSchema(after);
  if (b.additionalProperties === false && a.additionalProperties !== false) return true;
  const beforeProps = asRecord(b.properties);
  for (const [name, schema] of Object.entries(asRecord(a.properties))) {
    if (name in beforeProps) {
      if (widened(beforeProps[name], schema)) return true;
      continue;
    }
    const s = asSchema(schema);
    const freeForm =
      s.type === undefined ||
      (s.type === 'object' && s.additionalProperties !== false) ||
      (s.type === 'string' && s.maxLength === undefined && s.enum === undefined && s.pattern === undefined);
    if (freeForm) return true;
  }
  return false;
}

function asSchema(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}
function asRecord(value: unknown): Record<string, unknown> {
  return asSchema(value);
}

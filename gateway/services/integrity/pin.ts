/**
 * Tool pins: the hash of what an agent is shown about a tool (name, description, input schema, annotations).
 * A tool whose pin changes after it was first seen is not trusted again until an operator approves the new
 * definition ("rug pull" defence).
 */
import type { ToolDescriptor } from '../../../connectors/contract.js';
import { canonicalHash } from '../../kernel/index.js';

/** The parts of a descriptor that are pinned. */
export interface PinnedDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema: unknown;
  annotations?: unknown;
}

export function pinnedDefinition(descriptor: ToolDescriptor): PinnedDefinition {
  return {
    name: descriptor.name,
    ...(descriptor.title !== undefined ? { title: descriptor.title } : {}),
    ...(descriptor.description !== undefined ? { description: descriptor.description } : {}),
    inputSchema: descriptor.inputSchema,
    ...(descriptor.annotations !== undefined ? { annotations: descriptor.annotations } : {}),
  };
}

export function pinHash(definition: PinnedDefinition): string {
  return canonicalHash(definition);
}

export interface DefinitionChange {
  field: 'title' | 'description' | 'inputSchema' | 'annotations';
  before: string;
  after: string;
}

/**
 * A field-by-field diff of two definitions, as operators see it when deciding on a changed tool. With no
 * `before` (a new tool held on first sight) every field that is present shows as added.
 */
export function diffDefinitions(before: PinnedDefinition | undefined, after: PinnedDefinition): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  for (const field of ['title', 'description', 'inputSchema', 'annotations'] as const) {
    const a = JSON.stringify(before?.[field] ?? null, null, 2);
    const b = JSON.stringify(after[field] ?? null, null, 2);
    if (a !== b) changes.push({ field, before: a, after: b });
  }
  return changes;
}

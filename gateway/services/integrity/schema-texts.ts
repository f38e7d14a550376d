/**
 * Every piece of text in a tool definition that the model reads: name, title, description, and in the input
 * schema each parameter name, title, description, default, enum or const value and example. Poisoning can
 * sit in any of them ("full-schema poisoning"), so the text rules run over all of them.
 */
import type { DefinitionText } from './findings.js';
import type { PinnedDefinition } from './pin.js';

/** Parameter names are identifiers: split them into words so text rules can read them. */
export function identifierWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .toLowerCase();
}

const MAX_DEPTH = 12;

export function definitionTexts(definition: PinnedDefinition): DefinitionText[] {
  const texts: DefinitionText[] = [{ where: 'name', text: definition.name }];
  if (definition.title !== undefined) texts.push({ where: 'title', text: definition.title });
  if (definition.description !== undefined) texts.push({ where: 'description', text: definition.description });
  const annotations = definition.annotations as { title?: unknown } | undefined;
  if (typeof annotations?.title === 'string') texts.push({ where: 'annotations.title', text: annotations.title });
  collectSchemaTexts(definition.inputSchema, 'inputSchema', texts, 0);
  return texts;
}

export interface SchemaParameter {
  where: string;
  name: string;
  schema: Record<string, unknown>;
}

/** Every named property in the schema, at any depth (nested objects, array items, combinators). */
export function schemaParameters(schema: unknown): SchemaParameter[] {
  const out: SchemaParameter[] = [];
  walk(schema, 'inputSchema', 0, (node, where) => {
    for (const [name, child] of Object.entries(asRecord(node['properties'])))
      out.push({ where: `${where}.properties.${name}`, name, schema: asRecord(child) });
  });
  return out;
}

function collectSchemaTexts(schema: unknown, where: string, texts: DefinitionText[], depth: number): void {
  walk(schema, where, depth, (node, at) => {
    for (const key of ['title', 'description', 'default', 'const', '$comment'] as const)
      if (typeof node[key] === 'string') texts.push({ where: `${at}.${key}`, text: node[key] });
    for (const key of ['enum', 'examples'] as const) {
      const values = node[key];
      if (Array.isArray(values))
        values.forEach((v, i) => typeof v === 'string' && texts.push({ where: `${at}.${key}[${i}]`, text: v }));
    }
    for (const name of Object.keys(asRecord(node['properties'])))
      texts.push({ where: `${at}.properties.${name}(name)`, text: name });
  });
}

function walk(
  schema: unknown,
  where: string,
  depth: number,
  visit: (node: Record<string, unknown>, where: string) => void,
): void {
  if (depth > MAX_DEPTH || schema === null || typeof schema !== 'object') return;
  const node = schema as Record<string, unknown>;
  visit(node, where);
  for (const [name, child] of Object.entries(asRecord(node['properties'])))
    walk(child, `${where}.properties.${name}`, depth + 1, visit);
  if (node['items'] !== undefined) walk(node['items'], `${where}.items`, depth + 1, visit);
  if (typeof node['additionalProperties'] === 'object')
    walk(node['additionalProperties'], `${where}.additionalProperties`, depth + 1, visit);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = node[key];
    if (Array.isArray(list)) list.forEach((child, i) => walk(child, `${where}.${key}[${i}]`, depth + 1, visit));
  }
  for (const [name, child] of Object.entries(asRecord(node['$defs'] ?? node['definitions'])))
    walk(child, `${where}.$defs.${name}`, depth + 1, visit);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Loading an upstream's catalog: every page of tools, resources, resource templates and prompts, and the
 * compiled validators for each tool's schemas. The result is an immutable snapshot the connector swaps in
 * whole, so readers never see half a refresh.
 */
import type { Client, Tool } from '@modelcontextprotocol/client';
import type {
  CatalogChange,
  InputSchema,
  JsonObject,
  PromptDescriptor,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  ToolDescriptor,
} from '../contract.js';
import { ConnectorError } from '../errors.js';
import { createSchemaCompiler, type SchemaCompiler, type Validator } from './schema-compiler.js';

export interface CompiledTool {
  descriptor: ToolDescriptor;
  validateInput: Validator;
  validateOutput?: Validator;
}

export interface ToolCatalog {
  descriptors: readonly ToolDescriptor[];
  byName: ReadonlyMap<string, CompiledTool>;
}

export interface CatalogSnapshot {
  tools: ToolCatalog;
  resources: readonly ResourceDescriptor[];
  templates: readonly ResourceTemplateDescriptor[];
  prompts: readonly PromptDescriptor[];
}

export const EMPTY_SNAPSHOT: CatalogSnapshot = {
  tools: { descriptors: [], byName: new Map() },
  resources: [],
  templates: [],
  prompts: [],
};

export interface ListOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told about tools that are left out (their schema cannot be compiled, or they need task execution). */
  onWarning?: (message: string) => void;
}

/** A defensive bound: an upstream that pages forever must not hang the connector. */
const MAX_PAGES = 1000;

async function listAll<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await fetchPage(cursor);
    items.push(...result.items);
    if (result.nextCursor === undefined) return items;
    if (seen.has(result.nextCursor))
      throw new ConnectorError('UPSTREAM_ERROR', 'the upstream MCP server repeated a pagination cursor');
    seen.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  throw new ConnectorError('UPSTREAM_ERROR', `the upstream MCP server listed more than ${MAX_PAGES} pages`);
}

const cursorParams = (cursor: string | undefined) => (cursor === undefined ? {} : { cursor });

function toDescriptor(tool: Tool): ToolDescriptor {
  const descriptor: ToolDescriptor = { name: tool.name, inputSchema: tool.inputSchema as InputSchema };
  if (tool.title !== undefined) descriptor.title = tool.title;
  if (tool.description !== undefined) descriptor.description = tool.description;
  if (tool.outputSchema !== undefined) descriptor.outputSchema = tool.outputSchema as JsonObject;
  if (tool.annotations !== undefined) descriptor.annotations = tool.annotations as JsonObject;
  if (tool._meta !== undefined) descriptor._meta = tool._meta as JsonObject;
  return descriptor;
}

/** Compile every tool's schemas with one fresh compiler. Tools that cannot be validated are left out. */
export function compileTools(tools: readonly Tool[], onWarning?: (message: string) => void): ToolCatalog {
  const compiler: SchemaCompiler = createSchemaCompiler();
  const descriptors: ToolDescriptor[] = [];
  const byName = new Map<string, CompiledTool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) {
      onWarning?.(`tool "${tool.name}" is listed twice; the first definition is used`);
      continue;
    }
    if (tool.execution?.taskSupport === 'required') {
      onWarning?.(`tool "${tool.name}" requires task-based execution, which the connector does not offer; left out`);
      continue;
    }
    const descriptor = toDescriptor(tool);
    try {
      const compiled: CompiledTool = { descriptor, validateInput: compiler.compile(descriptor.inputSchema) };
      if (descriptor.outputSchema !== undefined) compiled.validateOutput = compiler.compile(descriptor.outputSchema);
      byName.set(tool.name, compiled);
      descriptors.push(descriptor);
    } catch (error) {
      // Fail closed: a tool whose arguments cannot be validated cannot be offered.
      const reason = error instanceof Error ? error.message : String(error);
      onWarning?.(`tool "${tool.name}" left out: its schema does not compile (${reason.slice(0, 200)})`);
    }
  }
  return { descriptors, byName };
}

export async function loadTools(client: Client, options: ListOptions): Promise<ToolCatalog> {
  if (client.getServerCapabilities()?.tools === undefined) return EMPTY_SNAPSHOT.tools;
  const tools = await listAll(async (cursor) => {
    const page = await client.request({ method: 'tools/list', params: cursorParams(cursor) }, requestOptions(options));
    return { items: page.tools, nextCursor: page.nextCursor };
  });
  return compileTools(tools, options.onWarning);
}

export async function loadResources(
  client: Client,
  options: ListOptions,
): Promise<Pick<CatalogSnapshot, 'resources' | 'templates'>> {
  if (client.getServerCapabilities()?.resources === undefined) return { resources: [], templates: [] };
  const resources = await listAll(async (cursor) => {
    const page = await client.request(
      { method: 'resources/list', params: cursorParams(cursor) },
      requestOptions(options),
    );
    return { items: page.resources as ResourceDescriptor[], nextCursor: page.nextCursor };
  });
  const templates = await listAll(async (cursor) => {
    const page = await client.request(
      { method: 'resources/templates/list', params: cursorParams(cursor) },
      requestOptions(options),
    );
    return { items: page.resourceTemplates as ResourceTemplateDescriptor[], nextCursor: page.nextCursor };
  });
  return { resources, templates };
}

export async function loadPrompts(client: Client, options: ListOptions): Promise<readonly PromptDescriptor[]> {
  if (client.getServerCapabilities()?.prompts === undefined) return [];
  return listAll(async (cursor) => {
    const page = await client.request(
      { method: 'prompts/list', params: cursorParams(cursor) },
      requestOptions(options),
    );
    return { items: page.prompts as PromptDescriptor[], nextCursor: page.nextCursor };
  });
}

export async function loadCatalog(client: Client, options: ListOptions): Promise<CatalogSnapshot> {
  const tools = await loadTools(client, options);
  const { resources, templates } = await loadResources(client, options);
  const prompts = await loadPrompts(client, options);
  return { tools, resources, templates, prompts };
}

/** Which parts differ between two snapshots (used after a reconnect, when no list_changed was sent). */
export function changedParts(before: CatalogSnapshot, after: CatalogSnapshot): CatalogChange[] {
  const changes: CatalogChange[] = [];
  if (JSON.stringify(before.tools.descriptors) !== JSON.stringify(after.tools.descriptors)) changes.push('tools');
  if (JSON.stringify([before.resources, before.templates]) !== JSON.stringify([after.resources, after.templates]))
    changes.push('resources');
  if (JSON.stringify(before.prompts) !== JSON.stringify(after.prompts)) changes.push('prompts');
  return changes;
}

function requestOptions(options: ListOptions): { timeout: number; signal?: AbortSignal } {
  return options.signal === undefined
    ? { timeout: options.timeoutMs }
    : { timeout: options.timeoutMs, signal: options.signal };
}

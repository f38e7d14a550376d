/**
 * Importing tools from an OpenAPI 3.0 / 3.1 document.
 *
 * Each selected operation becomes one HttpToolSpec: path, query and header parameters and a JSON request
 * body (argument `body`) make up the input schema, with local `$ref`s (`#/components/...`) inlined. The
 * document's `servers` are ignored: requests go to the connector's `baseUrl`, which must include the API's
 * base path.
 *
 * Nothing is dropped silently. An operation whose shape the connector cannot send faithfully (non-JSON
 * body, cookie or object-valued parameters that are required, recursive or external `$ref`s, a path the
 * path rules refuse, a name clash) is skipped, and an optional parameter that cannot be sent is left out;
 * either way a line is added to `warnings`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { JsonObject } from '../contract.js';
import {
  HTTP_TOOL_NAME_PATTERN,
  HttpConnectorConfigError,
  HttpToolSpecSchema,
  isForbiddenHeaderName,
  toolSpecIssues,
  type HttpToolSpec,
} from './config.js';
import { PATH_PARAM_NAME_PATTERN } from './path.js';
import { withoutRoutingParameters } from './openapi-hygiene.js';

export interface OpenApiSelection {
  /** Operations with these operationIds ... */
  operationIds?: readonly string[];
  /** ... or with any of these tags. Neither: every operation. */
  tags?: readonly string[];
}

export interface OpenApiImport {
  tools: HttpToolSpec[];
  /** One line per skipped operation or left-out parameter, safe to log. */
  warnings: string[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head'] as const;
const IGNORED_METHODS = ['options', 'trace'] as const;
const MAX_SCHEMA_NODES = 20_000;
const JSON_SCHEMA_2020 = 'https://json-schema.org/draft/2020-12/schema';

/** An operation (or parameter) the importer cannot represent; becomes a warning. */
class UnsupportedError extends Error {}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Read an OpenAPI document (YAML or JSON) from a file. A relative path resolves against `baseDir` (the
 * configuration file's directory), never against the process's working directory: without `baseDir` it
 * is a configuration error.
 */
export async function loadOpenApiDocument(file: string, baseDir?: string): Promise<JsonObject> {
  if (!path.isAbsolute(file) && baseDir === undefined) {
    throw new HttpConnectorConfigError(`OpenAPI document path ${file} is relative, but no base directory was given`);
  }
  const resolved = baseDir === undefined ? file : path.resolve(baseDir, file);
  let text: string;
  try {
    text = await readFile(resolved, 'utf8');
  } catch (error) {
    throw new HttpConnectorConfigError(
      `cannot read OpenAPI document ${file}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`,
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new HttpConnectorConfigError(
      `OpenAPI document ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (!isObject(document)) throw new HttpConnectorConfigError(`OpenAPI document ${file} is not an object`);
  return document;
}

/** Follows local `$ref`s, inlining them; refuses external and recursive references. */
class RefResolver {
  private nodes = 0;
  constructor(
    private readonly document: JsonObject,
    private readonly version: '3.0' | '3.1',
  ) {}

  lookup(ref: string): unknown {
    if (!ref.startsWith('#/')) throw new UnsupportedError(`external $ref "${ref}" is not supported`);
    let node: unknown = this.document;
    for (const token of ref.slice(2).split('/')) {
      const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isObject(node) && !Array.isArray(node)) throw new UnsupportedError(`$ref "${ref}" does not resolve`);
      node = (node as Record<string, unknown>)[key];
      if (node === undefined) throw new UnsupportedError(`$ref "${ref}" does not resolve`);
    }
    return node;
  }

  /** A non-schema object (parameter, request body, path item): follow `$ref` chains only at the top. */
  object(value: unknown, what: string): JsonObject {
    const seen = new Set<string>();
    let current = value;
    while (isObject(current) && typeof current['$ref'] === 'string') {
      const ref = current['$ref'];
      if (seen.has(ref)) throw new UnsupportedError(`recursive $ref "${ref}"`);
      seen.add(ref);
      current = this.lookup(ref);
    }
    if (!isObject(current)) throw new UnsupportedError(`${what} is not an object`);
    return current;
  }

  /** A schema with every local `$ref` inlined and OpenAPI 3.0 idioms turned into JSON Schema. */
  schema(value: unknown, stack: readonly string[] = []): unknown {
    if (++this.nodes > MAX_SCHEMA_NODES) throw new UnsupportedError('schema is too large once $refs are inlined');
    if (Array.isArray(value)) return value.map((item) => this.schema(item, stack));
    if (!isObject(value)) return value;
    if (typeof value['$ref'] === 'string') {
      const ref = value['$ref'];
      if (stack.includes(ref)) throw new UnsupportedError(`recursive schema $ref "${ref}" is not supported`);
      const { $ref: _ref, ...siblings } = value;
      const target = this.schema(this.lookup(ref), [...stack, ref]);
      if (!isObject(target)) throw new UnsupportedError(`$ref "${ref}" is not a schema`);
      // 3.1 allows keywords next to $ref; 3.0 ignores them.
      return this.version === '3.1' ? { ...target, ...(this.schema(siblings, stack) as JsonObject) } : target;
    }
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      // `properties`, `patternProperties`, `$defs` map names to schemas; names are kept as they are.
      out[key] = this.schema(child, stack);
    }
    return this.version === '3.0' ? fromOpenApi30(out) : out;
  }
}

/** OpenAPI 3.0 schema idioms that JSON Schema (draft-07) reads differently. */
function fromOpenApi30(schema: JsonObject): JsonObject {
  const out = { ...schema };
  if (out['nullable'] === true) {
    const type = out['type'];
    if (typeof type === 'string') out['type'] = [type, 'null'];
    else if (Array.isArray(type) && !type.includes('null')) out['type'] = [...type, 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
  }
  delete out['nullable'];
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[bound] === 'number') {
        out[flag] = out[bound];
        delete out[bound];
      } else {
        delete out[flag];
      }
    }
  }
  return out;
}

function sanitizeName(raw: string): string {
  return raw
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
}

function derivedName(method: string, pathTemplate: string): string {
  return sanitizeName(`${method}_${pathTemplate.replace(/[{}]/g, '')}`.replace(/\//g, '_').replace(/_+/g, '_'));
}

function isJsonMediaType(mediaType: string): boolean {
  const essence = mediaType.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(essence);
}

interface OperationContext {
  label: string;
  warnings: string[];
}

function buildTool(
  resolver: RefResolver,
  version: '3.0' | '3.1',
  name: string,
  method: (typeof METHODS)[number],
  pathTemplate: string,
  pathItem: JsonObject,
  operation: JsonObject,
  ctx: OperationContext,
): HttpToolSpec {
  // Path-level parameters apply unless the operation redefines the same (name, in).
  const merged = new Map<string, JsonObject>();
  for (const raw of [
    ...(Array.isArray(pathItem['parameters']) ? pathItem['parameters'] : []),
    ...(Array.isArray(operation['parameters']) ? operation['parameters'] : []),
  ]) {
    const parameter = resolver.object(raw, 'parameter');
    if (typeof parameter['name'] !== 'string' || typeof parameter['in'] !== 'string')
      throw new UnsupportedError('a parameter lacks name or in');
    merged.set(`${parameter['in']}:${parameter['name']}`, parameter);
  }

  const properties: JsonObject = {};
  const required: string[] = [];
  const query: Record<string, string> = {};
  const headers: Record<string, string> = {};
  const addProperty = (arg: string, schema: unknown, description: unknown, isRequired: boolean) => {
    if (Object.hasOwn(properties, arg)) throw new UnsupportedError(`two inputs share the argument name "${arg}"`);
    const property: JsonObject = isObject(schema) ? { ...schema } : {};
    if (typeof description === 'string' && property['description'] === undefined) property['description'] = description;
    properties[arg] = property;
    if (isRequired) required.push(arg);
    return property;
  };

  for (const parameter of withoutRoutingParameters(merged.values(), ctx.label, (w) => ctx.warnings.push(w))) {
    const paramName = parameter['name'] as string;
    const location = parameter['in'] as string;
    const isRequired = location === 'path' || parameter['required'] === true;
    // An optional input that cannot be sent is left out (with a warning); a required one sinks the operation.
    const unsupported = (reason: string) => {
      if (isRequired) throw new UnsupportedError(`${location} parameter "${paramName}": ${reason}`);
      ctx.warnings.push(`${ctx.label}: ${location} parameter "${paramName}" left out: ${reason}`);
    };
    if (parameter['content'] !== undefined && parameter['schema'] === undefined) {
      unsupported('parameters described by `content` are not supported');
      continue;
    }
    const schema = resolver.schema(parameter['schema'] ?? {});
    const type = isObject(schema) ? schema['type'] : undefined;
    if (location === 'path') {
      if (!PATH_PARAM_NAME_PATTERN.test(paramName))
        throw new UnsupportedError(`path parameter name "${paramName}" is not supported`);
      if (type !== undefined && type !== 'string' && type !== 'integer')
        throw new UnsupportedError(`path parameter "${paramName}" must be a string or integer`);
      const property = addProperty(paramName, schema, parameter['description'], true);
      if (type === undefined) property['type'] = 'string';
    } else if (location === 'query') {
      const style = parameter['style'] ?? 'form';
      if (style !== 'form') {
        unsupported(`style "${String(style)}" is not supported`);
        continue;
      }
      if (type === 'object') {
        unsupported('object-valued query parameters are not supported');
        continue;
      }
      if (type === 'array' && parameter['explode'] === false) {
        unsupported('non-exploded array query parameters are not supported');
        continue;
      }
      addProperty(paramName, schema, parameter['description'], isRequired);
      query[paramName] = paramName;
    } else if (location === 'header') {
      if (isForbiddenHeaderName(paramName)) {
        unsupported('the gateway owns this header');
        continue;
      }
      if (type === 'object' || type === 'array') {
        unsupported(`${type}-valued headers are not supported`);
        continue;
      }
      addProperty(paramName, schema, parameter['description'], isRequired);
      headers[paramName] = paramName;
    } else {
      unsupported(`${location} parameters are not supported`);
    }
  }

  let body: HttpToolSpec['body'];
  if (operation['requestBody'] !== undefined) {
    const requestBody = resolver.object(operation['requestBody'], 'requestBody');
    const isRequired = requestBody['required'] === true;
    const content = isObject(requestBody['content']) ? requestBody['content'] : {};
    const mediaType = Object.keys(content).find(isJsonMediaType);
    if (mediaType === undefined) {
      const types = Object.keys(content).join(', ') || 'none';
      throw new UnsupportedError(`request body media types (${types}) are not supported; only JSON bodies are`);
    }
    if (method === 'get' || method === 'head')
      throw new UnsupportedError(`${method.toUpperCase()} with a request body is not supported`);
    const media = isObject(content[mediaType]) ? content[mediaType] : {};
    addProperty('body', resolver.schema(media['schema'] ?? {}), requestBody['description'], isRequired);
    body = { arg: 'body' };
  }

  const inputSchema: JsonObject = {
    ...(version === '3.1' ? { $schema: JSON_SCHEMA_2020 } : {}),
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
  const summary = typeof operation['summary'] === 'string' ? operation['summary'].trim() : '';
  const description = typeof operation['description'] === 'string' ? operation['description'].trim() : '';
  const candidate = {
    name,
    ...(summary !== '' ? { title: summary } : {}),
    ...(description !== '' || summary !== '' ? { description: description !== '' ? description : summary } : {}),
    inputSchema,
    method: method.toUpperCase(),
    path: pathTemplate,
    ...(Object.keys(query).length > 0 ? { query } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(body !== undefined ? { body } : {}),
  };
  const parsed = HttpToolSpecSchema.safeParse(candidate);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UnsupportedError(first?.message ?? 'not a valid tool');
  }
  const issues = toolSpecIssues(parsed.data);
  if (issues.length > 0) throw new UnsupportedError(issues[0]!.message);
  return parsed.data;
}

/**
 * Turn the selected operations of an OpenAPI 3.0/3.1 document into tool specs. Throws
 * HttpConnectorConfigError when the document as a whole is unusable (not OpenAPI 3.x, no `paths`);
 * per-operation problems become warnings.
 */
export function importOpenApiTools(document: unknown, selection: OpenApiSelection = {}): OpenApiImport {
  if (!isObject(document)) throw new HttpConnectorConfigError('the OpenAPI document is not an object');
  const declared = document['openapi'];
  const version =
    typeof declared === 'string'
      ? declared.startsWith('3.0')
        ? '3.0'
        : declared.startsWith('3.1')
          ? '3.1'
          : undefined
      : undefined;
  if (version === undefined)
    throw new HttpConnectorConfigError('only OpenAPI 3.0 and 3.1 documents are supported (the `openapi` field)');
  if (!isObject(document['paths'])) throw new HttpConnectorConfigError('the OpenAPI document has no `paths` object');

  const resolver = new RefResolver(document, version);
  const ids = new Set(selection.operationIds ?? []);
  const tags = new Set(selection.tags ?? []);
  const selectAll = ids.size === 0 && tags.size === 0;
  const foundIds = new Set<string>();
  const tools: HttpToolSpec[] = [];
  const warnings: string[] = [];
  const names = new Set<string>();

  for (const [pathTemplate, rawItem] of Object.entries(document['paths'])) {
    let pathItem: JsonObject;
    try {
      pathItem = resolver.object(rawItem, 'path item');
    } catch (error) {
      if (!(error instanceof UnsupportedError)) throw error;
      warnings.push(`${pathTemplate}: skipped: ${error.message}`);
      continue;
    }
    for (const method of [...METHODS, ...IGNORED_METHODS]) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const operationId = typeof operation['operationId'] === 'string' ? operation['operationId'] : undefined;
      const operationTags = Array.isArray(operation['tags'])
        ? operation['tags'].filter((t): t is string => typeof t === 'string')
        : [];
      if (operationId !== undefined && ids.has(operationId)) foundIds.add(operationId);
      const selected =
        selectAll || (operationId !== undefined && ids.has(operationId)) || operationTags.some((t) => tags.has(t));
      if (!selected) continue;
      const label = `${method.toUpperCase()} ${pathTemplate}${operationId !== undefined ? ` (${operationId})` : ''}`;
      if ((IGNORED_METHODS as readonly string[]).includes(method)) {
        warnings.push(`${label}: skipped: method ${method.toUpperCase()} is not supported`);
        continue;
      }
      const name = operationId !== undefined ? sanitizeName(operationId) : derivedName(method, pathTemplate);
      if (!HTTP_TOOL_NAME_PATTERN.test(name)) {
        warnings.push(`${label}: skipped: no usable tool name`);
        continue;
      }
      if (names.has(name)) {
        warnings.push(`${label}: skipped: tool name "${name}" is already taken`);
        continue;
      }
      const operationWarnings: string[] = [];
      try {
        tools.push(
          buildTool(resolver, version, name, method as (typeof METHODS)[number], pathTemplate, pathItem, operation, {
            label,
            warnings: operationWarnings,
          }),
        );
        names.add(name);
        warnings.push(...operationWarnings);
      } catch (error) {
        if (!(error instanceof UnsupportedError)) throw error;
        warnings.push(`${label}: skipped: ${error.message}`);
      }
    }
  }
  for (const id of ids) {
    if (!foundIds.has(id)) warnings.push(`operationId "${id}" was selected but is not in the document`);
  }
  return { tools, warnings };
}

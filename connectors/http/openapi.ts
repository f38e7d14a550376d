/**
 * Importing tools from an OpenAPI 3.0 / 3.1 document.
 *
 * Each selected operation becomes one HttpToolSpec: path, query and header parameters and a JSON request
 * body (argument `body`) make up the input schema, with local `$ref`s (`#/components/...`) inlined by a
 * maintained parser, for the selected operations only (openapi-refs.ts). The document's `servers` are
 * ignored: requests go to the connector's `baseUrl`, which must include the API's base path.
 *
 * Path parameters declared for reserved expansion (`allowReserved: true`, or GitHub's `x-multi-segment:
 * true`) become `{+name}` placeholders, whose values may contain `/` (see path.ts for what stays refused).
 *
 * Nothing is dropped silently. An operation whose shape the connector cannot send faithfully (non-JSON
 * body, cookie or object-valued parameters that are required, recursive or external `$ref`s, a path the
 * path rules refuse, a name clash) is skipped, and an optional parameter that cannot be sent is left out;
 * either way a line with the precise reason is added to `warnings`.
 */
import { createHash } from 'node:crypto';
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
import {
  dereferenceSelection,
  OpenApiUnsupportedError as UnsupportedError,
  resolvedObject,
  SchemaConverter,
} from './openapi-refs.js';
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
const JSON_SCHEMA_2020 = 'https://json-schema.org/draft/2020-12/schema';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Read an OpenAPI document (YAML or JSON) from a file. A relative path resolves against `baseDir` (the
 * configuration file's directory), never against the process's working directory: without `baseDir` it
 * is a configuration error. JSON is read with the JSON parser (large published documents are JSON, and a
 * YAML parser takes many times the time and memory for them); anything else as YAML.
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
    document = looksLikeJson(text) ? parseJsonOrYaml(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new HttpConnectorConfigError(
      `OpenAPI document ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (!isObject(document)) throw new HttpConnectorConfigError(`OpenAPI document ${file} is not an object`);
  return document;
}

/** A document that starts with `{` is JSON (or YAML flow style, which the fallback reads). */
function looksLikeJson(text: string): boolean {
  return /^\s*\{/.test(text.slice(0, 1024));
}

function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text, { maxAliasCount: 100 });
  }
}

const MAX_TOOL_NAME = 64;

/**
 * Characters outside `[a-zA-Z0-9_-]` become `_`. A longer name keeps its first 55 characters and ends in
 * `_` plus 8 hex characters of its full name's SHA-256, so two long operationIds that share a prefix (common
 * in large documents) still get distinct names, and the same operationId always gets the same name.
 */
function sanitizeName(raw: string): string {
  const name = raw.replace(/[^a-zA-Z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  if (name.length <= MAX_TOOL_NAME) return name;
  const digest = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_TOOL_NAME - digest.length - 1)}_${digest}`;
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

/** What a tool is built from: the operation's parameters (path-level first) and request body, dereferenced. */
interface OperationInputs {
  parameters: unknown[];
  requestBody: unknown;
}

/** Dereference the inputs of one operation, and nothing else of the document. */
async function dereferenceInputs(
  document: JsonObject,
  pathItem: JsonObject,
  operation: JsonObject,
): Promise<OperationInputs> {
  const resolved = (await dereferenceSelection(document, {
    parameters: [
      ...(Array.isArray(pathItem['parameters']) ? pathItem['parameters'] : []),
      ...(Array.isArray(operation['parameters']) ? operation['parameters'] : []),
    ],
    requestBody: operation['requestBody'],
  })) as OperationInputs;
  return resolved;
}

/** `allowReserved: true` (OpenAPI) or `x-multi-segment: true` (GitHub): the value may contain `/`. */
function isReservedExpansion(parameter: JsonObject): boolean {
  return parameter['allowReserved'] === true || parameter['x-multi-segment'] === true;
}

/** `{name}` -> `{+name}` for each reserved-expansion parameter; the path rules then check where it stands. */
function withReservedExpansion(pathTemplate: string, reserved: ReadonlySet<string>): string {
  return pathTemplate.replace(/\{([^{}+]+)\}/g, (placeholder, name: string) =>
    reserved.has(name) ? `{+${name}}` : placeholder,
  );
}

function buildTool(
  inputs: OperationInputs,
  version: '3.0' | '3.1',
  name: string,
  method: (typeof METHODS)[number],
  pathTemplate: string,
  operation: JsonObject,
  ctx: OperationContext,
): HttpToolSpec {
  const converter = new SchemaConverter(version);
  const reserved = new Set<string>();
  // Path-level parameters apply unless the operation redefines the same (name, in).
  const merged = new Map<string, JsonObject>();
  for (const raw of inputs.parameters) {
    const parameter = resolvedObject(raw, 'parameter');
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
    const schema = converter.schema(parameter['schema'] ?? {});
    const type = isObject(schema) ? schema['type'] : undefined;
    if (location === 'path') {
      if (!PATH_PARAM_NAME_PATTERN.test(paramName))
        throw new UnsupportedError(`path parameter name "${paramName}" is not supported`);
      if (type !== undefined && type !== 'string' && type !== 'integer')
        throw new UnsupportedError(`path parameter "${paramName}" must be a string or integer`);
      if (isReservedExpansion(parameter)) {
        if (type === 'integer')
          throw new UnsupportedError(`path parameter "${paramName}" allows reserved characters but is an integer`);
        reserved.add(paramName);
      }
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
  if (inputs.requestBody !== undefined) {
    const requestBody = resolvedObject(inputs.requestBody, 'requestBody');
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
    addProperty('body', converter.schema(media['schema'] ?? {}), requestBody['description'], isRequired);
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
    path: withReservedExpansion(pathTemplate, reserved),
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
 * per-operation problems become warnings, each with its reason. Only the selected operations' inputs are
 * dereferenced, in place: pass a document the caller owns (a freshly loaded one, or a copy).
 */
export async function importOpenApiTools(document: unknown, selection: OpenApiSelection = {}): Promise<OpenApiImport> {
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
      pathItem = resolvedObject(
        isObject(rawItem) && typeof rawItem['$ref'] === 'string'
          ? await dereferenceSelection(document, rawItem, { shallow: true })
          : rawItem,
        'path item',
      );
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
        const inputs = await dereferenceInputs(document, pathItem, operation);
        tools.push(
          buildTool(inputs, version, name, method as (typeof METHODS)[number], pathTemplate, operation, {
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

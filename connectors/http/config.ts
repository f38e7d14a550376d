/**
 * Configuration of an `http` connector: one backend REST API, its base URL, and the tools it offers,
 * declared one by one (`tools`) and/or imported from an OpenAPI document (`openapi`).
 *
 * Parsed once at the edge with strict schemas: unknown keys, a path template that could reach another
 * host or escape its prefix, a header the gateway owns, or a mapping to an argument the input schema
 * does not declare are all configuration errors, so a mistake never turns into a silent widening.
 */
import { z } from 'zod';
import { CONNECTOR_ID_PATTERN, HTTP_TOKEN } from '../contract.js';
import { configuredHostProblem, routingHeaderProblem, routingQueryProblem } from '../request-hygiene.js';
import { canonicalizePath, parsePathTemplate, PathError } from './path.js';

/** Connector-local tool names; exposed as `${connectorId}_${name}`. */
export const HTTP_TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

/**
 * Headers an argument may never set: identity and credentials (the gateway's credential step owns them),
 * routing, framing and hop-by-hop headers, trace propagation (from `ctx.meta`), and the two the connector
 * sets itself (`accept`, `content-type`).
 */
const FORBIDDEN_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'host',
  'forwarded',
  'x-real-ip',
  'content-length',
  'content-type',
  'accept',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'traceparent',
  'tracestate',
  'baggage',
]);
const FORBIDDEN_HEADER_PREFIXES = ['x-forwarded-', 'x-portcullis-', 'proxy-'];

/** True for header names no tool argument may set (compared case-insensitively). */
export function isForbiddenHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    FORBIDDEN_HEADERS.has(lower) ||
    FORBIDDEN_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix)) ||
    routingHeaderProblem(lower) !== undefined
  );
}

export const ToolNameSchema = z.string().regex(HTTP_TOOL_NAME_PATTERN, 'expected a tool name: ^[a-zA-Z0-9_-]{1,64}$');

/** A JSON Schema for the tool's arguments; MCP requires an object at the top. */
export const HttpInputSchemaSchema = z.looseObject({
  type: z.literal('object', { error: 'inputSchema must have type: object' }),
  properties: z.record(z.string(), z.unknown()).optional(),
  required: z.array(z.string()).optional(),
});

export const HttpToolAnnotationsSchema = z
  .object({
    title: z.string().optional(),
    readOnlyHint: z.boolean().optional(),
    destructiveHint: z.boolean().optional(),
    idempotentHint: z.boolean().optional(),
    openWorldHint: z.boolean().optional(),
  })
  .strict();

export const HttpBodySchema = z.union([
  /** Send this one argument as the JSON body. */
  z.object({ arg: z.string().min(1) }).strict(),
  /** Send a JSON object made of these arguments (absent ones left out). */
  z.object({ args: z.array(z.string().min(1)).min(1) }).strict(),
]);

export const HttpResponseSchema = z
  .object({
    /** `auto` follows the content type; `json` parses whatever comes; `text` never parses. */
    mode: z.enum(['auto', 'json', 'text']).default('auto'),
  })
  .strict();

export const HttpToolSpecSchema = z
  .object({
    name: ToolNameSchema,
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: HttpInputSchemaSchema,
    method: z.enum(HTTP_METHODS),
    /** Path relative to the base URL's path, e.g. `/repos/{owner}/{repo}/issues`. */
    path: z.string().min(1),
    /** Query parameter name -> argument name. */
    query: z.record(z.string().min(1), z.string().min(1)).optional(),
    /** Header name -> argument name. */
    headers: z.record(z.string().regex(HTTP_TOKEN, 'expected an HTTP header name'), z.string().min(1)).optional(),
    body: HttpBodySchema.optional(),
    annotations: HttpToolAnnotationsSchema.optional(),
    response: HttpResponseSchema.optional(),
  })
  .strict()
  .superRefine((tool, ctx) => {
    for (const issue of toolSpecIssues(tool))
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  });

export type HttpToolSpec = z.output<typeof HttpToolSpecSchema>;
export type HttpToolSpecInput = z.input<typeof HttpToolSpecSchema>;

export interface SpecIssue {
  message: string;
  path: (string | number)[];
}

function schemaType(property: unknown): unknown {
  return typeof property === 'object' && property !== null ? (property as Record<string, unknown>)['type'] : undefined;
}

/**
 * The checks a tool spec needs beyond its shape; shared by the config schema and the OpenAPI importer.
 * Returns the problems found (empty when the spec is usable).
 */
export function toolSpecIssues(tool: Omit<HttpToolSpec, 'name'> & { name?: string }): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const properties = tool.inputSchema.properties ?? {};
  const required = new Set(tool.inputSchema.required ?? []);
  const declared = (arg: string) => Object.hasOwn(properties, arg);

  let params: readonly string[] = [];
  try {
    params = parsePathTemplate(tool.path).params;
  } catch (error) {
    if (!(error instanceof PathError)) throw error;
    issues.push({ message: error.message, path: ['path'] });
  }
  for (const param of params) {
    const type = schemaType(properties[param]);
    if (!declared(param) || !required.has(param) || (type !== 'string' && type !== 'integer')) {
      issues.push({
        message: `path parameter "${param}" must be a required string or integer property of inputSchema`,
        path: ['path'],
      });
    }
  }
  for (const [name, arg] of Object.entries(tool.query ?? {})) {
    const routing = routingQueryProblem(name);
    if (routing !== undefined)
      issues.push({ message: `query parameter "${name}" cannot be mapped: ${routing}`, path: ['query', name] });
    if (!declared(arg))
      issues.push({
        message: `query parameter "${name}" maps to "${arg}", which inputSchema does not declare`,
        path: ['query', name],
      });
  }
  for (const [name, arg] of Object.entries(tool.headers ?? {})) {
    const routing = routingHeaderProblem(name);
    if (routing !== undefined)
      issues.push({ message: `header "${name}" cannot be mapped: ${routing}`, path: ['headers', name] });
    else if (isForbiddenHeaderName(name))
      issues.push({ message: `header "${name}" cannot be set from an argument`, path: ['headers', name] });
    if (!declared(arg))
      issues.push({
        message: `header "${name}" maps to "${arg}", which inputSchema does not declare`,
        path: ['headers', name],
      });
  }
  if (tool.body !== undefined) {
    if (tool.method === 'GET' || tool.method === 'HEAD')
      issues.push({ message: `${tool.method} requests cannot carry a body`, path: ['body'] });
    const args = 'arg' in tool.body ? [tool.body.arg] : tool.body.args;
    for (const arg of args) {
      if (!declared(arg))
        issues.push({ message: `body maps "${arg}", which inputSchema does not declare`, path: ['body'] });
    }
    if ('args' in tool.body && new Set(tool.body.args).size !== tool.body.args.length) {
      issues.push({ message: 'body.args lists an argument twice', path: ['body', 'args'] });
    }
  }
  return issues;
}

/** `http(s)://host[:port][/path]`: no credentials, query or fragment, and a canonical path. */
export const BaseUrlSchema = z.string().superRefine((value, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('baseUrl must use http or https');
  if (url.username !== '' || url.password !== '') return fail('baseUrl must not contain credentials');
  if (value.includes('?') || value.includes('#')) return fail('baseUrl must not contain a query or fragment');
  if (value.includes('\\')) return fail('baseUrl must not contain "\\"');
  if (url.hostname === '') return fail('baseUrl must name a host');
  const hostProblem = configuredHostProblem(value);
  if (hostProblem !== undefined) return fail(`baseUrl ${hostProblem}`);
  try {
    if (canonicalizePath(url.pathname) !== url.pathname) return fail('baseUrl path must be canonical');
  } catch (error) {
    return fail(`baseUrl path: ${(error as Error).message}`);
  }
  return undefined;
});

export const OpenApiSourceSchema = z
  .object({
    /** A file path (YAML or JSON, relative to the config's directory) or the document itself. */
    document: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    /** Import operations with these operationIds ... */
    operationIds: z.array(z.string().min(1)).optional(),
    /** ... and/or with any of these tags. Neither list: every operation. */
    tags: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type OpenApiSource = z.output<typeof OpenApiSourceSchema>;

export const HttpConnectorConfigSchema = z
  .object({
    id: z.string().regex(CONNECTOR_ID_PATTERN, 'expected a connector id: ^[a-z][a-z0-9-]{0,31}$'),
    kind: z.literal('http'),
    /** Readiness of the gateway depends on this connector (default false: its outage only fails its own calls). */
    required: z.boolean().default(false),
    baseUrl: BaseUrlSchema,
    /** Bound on one backend exchange, body included. */
    timeoutMs: z.number().int().min(1).max(600_000).default(DEFAULT_TIMEOUT_MS),
    /** Cap on the response body; larger answers fail with RESPONSE_TOO_LARGE. */
    maxResponseBytes: z
      .number()
      .int()
      .min(1)
      .max(1024 * 1024 * 1024)
      .default(DEFAULT_MAX_RESPONSE_BYTES),
    tools: z.array(HttpToolSpecSchema).optional(),
    openapi: OpenApiSourceSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.tools === undefined && config.openapi === undefined) {
      ctx.addIssue({ code: 'custom', message: 'an http connector needs `tools`, `openapi`, or both' });
    }
    const seen = new Set<string>();
    (config.tools ?? []).forEach((tool, index) => {
      if (seen.has(tool.name))
        ctx.addIssue({ code: 'custom', message: `duplicate tool name "${tool.name}"`, path: ['tools', index, 'name'] });
      seen.add(tool.name);
    });
  });

export type HttpConnectorConfig = z.output<typeof HttpConnectorConfigSchema>;
export type HttpConnectorConfigInput = z.input<typeof HttpConnectorConfigSchema>;

/** The connector's configuration cannot be used (bad OpenAPI document, duplicate tool, schema that does not compile). */
export class HttpConnectorConfigError extends Error {
  override readonly name = 'HttpConnectorConfigError';
  readonly code = 'INVALID_CONNECTOR_CONFIG';
}

/**
 * From validated arguments to the exact request a tool call sends: method, canonical URL, headers, body.
 *
 * Scheme, host and port come only from the connector's base URL, parsed once; arguments reach the path
 * only through `buildRequestPath`, the query string and declared headers only through the tool's
 * mappings, and the body only as JSON. No URL is ever resolved against agent input.
 */
import type { HttpOperation } from '../contract.js';
import { ConnectorError } from '../errors.js';
import type { HttpToolSpec } from './config.js';
import { buildRequestPath, joinBasePath, type PathTemplate } from './path.js';

/** Where every request of a connector goes, from its base URL. */
export interface HttpOrigin {
  scheme: 'http' | 'https';
  /** Lower-case host name or IP literal, without brackets. */
  host: string;
  /** Explicit port (80/443 when the URL has none). */
  port: number;
  /** Canonical base path, e.g. `/v1` or `/`. */
  basePath: string;
}

export interface BuiltRequest {
  operation: HttpOperation;
  /** Headers from arguments only; the connector adds accept, content-type and propagation headers. */
  headers: Record<string, string>;
  /** JSON text, when the tool sends a body and the argument(s) are present. */
  body?: string;
}

/** Parse a base URL already accepted by `BaseUrlSchema`. */
export function originFromBaseUrl(baseUrl: string): HttpOrigin {
  const url = new URL(baseUrl);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { scheme, host, port, basePath: url.pathname === '' ? '/' : url.pathname };
}

/** `scheme://host:port` with IPv6 literals bracketed. */
export function originPrefix(origin: HttpOrigin): string {
  const host = origin.host.includes(':') ? `[${origin.host}]` : origin.host;
  return `${origin.scheme}://${host}:${origin.port}`;
}

/** The full path template as it will be matched: base path + tool path. */
export function fullPathTemplate(origin: HttpOrigin, toolPath: string): string {
  return joinBasePath(origin.basePath, toolPath);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

function buildQuery(mapping: Readonly<Record<string, string>>, args: Readonly<Record<string, unknown>>): string {
  const pairs: string[] = [];
  for (const [name, arg] of Object.entries(mapping)) {
    const value = args[arg];
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      const text = scalarText(item);
      if (text === undefined) {
        throw new ConnectorError('INVALID_ARGUMENTS', `argument "${arg}" cannot be sent as query parameter "${name}"`, {
          argument: arg,
        });
      }
      pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(text)}`);
    }
  }
  return pairs.join('&');
}

// Visible ASCII, space and tab: no CR/LF (header injection), NUL or non-ASCII.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function buildHeaders(
  mapping: Readonly<Record<string, string>>,
  args: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, arg] of Object.entries(mapping)) {
    const value = args[arg];
    if (value === undefined || value === null) continue;
    const text = scalarText(value);
    if (text === undefined || !HEADER_VALUE.test(text)) {
      throw new ConnectorError('INVALID_ARGUMENTS', `argument "${arg}" cannot be sent as header "${name}"`, {
        argument: arg,
      });
    }
    headers[name.toLowerCase()] = text;
  }
  return headers;
}

function buildBody(spec: HttpToolSpec, args: Readonly<Record<string, unknown>>): string | undefined {
  if (spec.body === undefined) return undefined;
  if ('arg' in spec.body) {
    const value = args[spec.body.arg];
    return value === undefined ? undefined : JSON.stringify(value);
  }
  const object: Record<string, unknown> = {};
  for (const arg of spec.body.args) {
    if (args[arg] !== undefined) object[arg] = args[arg];
  }
  return JSON.stringify(object);
}

/**
 * Build the request for validated arguments. Throws ConnectorError INVALID_ARGUMENTS when a value cannot
 * be placed where the tool puts it (see `buildRequestPath` for the path rules).
 */
export function buildRequest(
  origin: HttpOrigin,
  spec: HttpToolSpec,
  template: PathTemplate,
  args: Readonly<Record<string, unknown>>,
): BuiltRequest {
  const path = joinBasePath(origin.basePath, buildRequestPath(template, args));
  const query = buildQuery(spec.query ?? {}, args);
  const operation: HttpOperation = {
    method: spec.method,
    scheme: origin.scheme,
    host: origin.host,
    port: origin.port,
    path,
    query,
    url: `${originPrefix(origin)}${path}${query === '' ? '' : `?${query}`}`,
  };
  const body = buildBody(spec, args);
  // Frozen: what the policy decided on cannot be changed on its way to `callTool`.
  return Object.freeze({
    operation: Object.freeze(operation),
    headers: Object.freeze(buildHeaders(spec.headers ?? {}, args)),
    ...(body !== undefined ? { body } : {}),
  });
}

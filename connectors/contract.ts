/**
 * The connector contract: the one interface the gateway uses to reach a backend.
 *
 * A connector turns a connector-local tool name plus arguments into a backend call. It never decides
 * whether the call is allowed (that is the gateway's pipeline) and never reaches the network except
 * through `ctx.fetch` (HTTP) or the transport the gateway handed it (MCP), so egress control, call
 * credentials and trace propagation are applied in one place outside the connector.
 *
 * This module is a leaf: it imports nothing from `gateway/` or `policies/`, and no MCP SDK types, so
 * connectors can be tested and reused on their own. Result and content shapes are structurally the
 * same as MCP's `CallToolResult` so the MCP edge can pass them through unchanged.
 */

/** `fetch` as the gateway hands it to connectors: egress guard, credential and deadline already bound. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** Exposed tool names are `${connectorId}_${toolName}`; the id must make that unambiguous. */
export const CONNECTOR_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * An HTTP token (RFC 9110): what a header name is made of, and the `x-mcp-header` names built on them. Its
 * source is also the pattern the configuration's JSON Schema publishes for header names.
 */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export type JsonObject = { [key: string]: unknown };

/** An object that is neither null nor an array: what a JSON `{...}` parses into. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `target[key] = value` for a key taken from data: a `__proto__` key (JSON.parse makes it an own member)
 * becomes an own member too, where assignment would set the target's prototype and drop the member.
 */
export function setMember(target: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A JSON Schema describing a tool's arguments; MCP requires `type: "object"` at the top. */
export interface InputSchema extends JsonObject {
  type: 'object';
  // `| undefined`: schemas parsed from config files may carry an absent key as undefined.
  properties?: Record<string, unknown> | undefined;
  required?: string[] | undefined;
}

/** Hints only; `| undefined` because annotations parsed from config files may carry absent keys so. */
export interface ToolAnnotations extends JsonObject {
  title?: string | undefined;
  readOnlyHint?: boolean | undefined;
  destructiveHint?: boolean | undefined;
  idempotentHint?: boolean | undefined;
  openWorldHint?: boolean | undefined;
}

/** What an HTTP tool does, known before any request: lets policy match on method, host and path shape. */
export interface HttpOperationTemplate {
  method: string;
  /** Path template as declared, e.g. `/repos/{owner}/{repo}/issues`. */
  pathTemplate: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

export interface ToolDescriptor {
  /** Connector-local name (without the connector prefix). */
  name: string;
  title?: string;
  description?: string;
  inputSchema: InputSchema;
  outputSchema?: JsonObject;
  annotations?: ToolAnnotations;
  /** Present for HTTP tools. */
  operation?: HttpOperationTemplate;
  _meta?: JsonObject;
}

/**
 * The concrete HTTP request a call will make, computed from validated arguments before anything is sent.
 * `path` is canonical (decoded once, dot-segments resolved, encoded separators rejected) and is exactly
 * the path the request will use, so the policy decides on what is really sent.
 */
export interface HttpOperation {
  method: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Canonical path, percent-encoded as it goes on the wire. */
  path: string;
  /** Query string without the leading `?`, or '' when there is none. */
  query: string;
  /** Full URL: `${scheme}://${host}:${port}${path}${query ? '?' + query : ''}`. */
  url: string;
}

/** A call that passed argument validation and is ready to be decided on and invoked. */
export interface PreparedCall {
  /** Connector-local tool name. */
  tool: string;
  args: JsonObject;
  /** Present for HTTP tools. */
  operation?: HttpOperation;
  /** Connector-private data carried from prepare to invoke (e.g. the built request). */
  readonly internal?: unknown;
}

export type ContentBlock =
  | { type: 'text'; text: string; annotations?: JsonObject; _meta?: JsonObject }
  | { type: 'image'; data: string; mimeType: string; annotations?: JsonObject; _meta?: JsonObject }
  | { type: 'audio'; data: string; mimeType: string; annotations?: JsonObject; _meta?: JsonObject }
  | { type: 'resource'; resource: JsonObject; annotations?: JsonObject; _meta?: JsonObject }
  | ({ type: 'resource_link'; uri: string; name: string } & JsonObject);

export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: JsonObject;
  isError?: boolean;
  _meta?: JsonObject;
}

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

export interface LogMessage {
  level: 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';
  logger?: string;
  data: unknown;
}

/**
 * Everything a connector gets for one call. The gateway owns all of it: cancelling `signal` must abort
 * the backend work; `fetch` is the only way out to the network for HTTP connectors, and the way an MCP
 * connector over HTTP sends the requests it makes for this call (egress scoped to the call); `meta` carries
 * propagation headers/fields (e.g. `traceparent`) that the connector forwards as-is.
 */
export interface ConnectorContext {
  callId: string;
  signal: AbortSignal;
  fetch: FetchLike;
  meta: Record<string, string>;
  /** Forward a progress notification to the calling agent (no-op when it asked for none). */
  onProgress?: (update: ProgressUpdate) => void;
  /** Forward a log message from the backend to the calling agent. */
  onLog?: (message: LogMessage) => void;
  /**
   * This call's channel for requests only the calling agent can answer (`sampling/createMessage`,
   * `elicitation/create`, `roots/list`). Absent when the agent cannot take any.
   */
  inputRequests?: InputRequestChannel;
}

/**
 * A per-call channel from a backend to the agent behind the gateway. `request` resolves with the agent's
 * answer; it rejects when the agent cannot take the request (code NOT_SUPPORTED), when `signal` aborts,
 * or when the call ends first.
 */
export interface InputRequestChannel {
  request(method: string, params: JsonObject, signal: AbortSignal): Promise<JsonObject>;
  /**
   * Present when the agent takes a backend's multi-round-trip request as its own (a 2026-07-28 agent): a
   * backend that answers with its own input round (a 2026-07-28 MCP upstream's `input_required`) hands
   * that round to the agent whole, keys and state as the backend made them, and the call ends with
   * INPUT_REQUIRED; the agent's retry starts a new call that sends the answers (`resume`).
   */
  rounds?: InputRounds;
}

/** One input round of a backend: its keyed requests and its own opaque state, echoed on the retry. */
export interface BackendInputRound {
  inputRequests: Record<string, { method: string; params?: JsonObject }>;
  requestState?: string;
}

export interface InputRounds {
  /** The agent's answers to the backend's previous round and that round's state, for the first request. */
  readonly resume?: { inputResponses: JsonObject; requestState?: string };
  /**
   * The agent's client capabilities for backend requests (`sampling`, `elicitation`, `roots`): a backend
   * must only ask for what the agent can answer.
   */
  readonly capabilities: JsonObject;
  /** Take the backend's round to the agent; throws (NOT_SUPPORTED) when the agent cannot answer it. */
  handOff(round: BackendInputRound): void;
}

/** Context for catalog operations (listing), which are not tied to one call. */
export interface CatalogContext {
  signal: AbortSignal;
  fetch: FetchLike;
}

export interface ResourceDescriptor extends JsonObject {
  uri: string;
  name: string;
}
export interface ResourceTemplateDescriptor extends JsonObject {
  uriTemplate: string;
  name: string;
}
export interface PromptDescriptor extends JsonObject {
  name: string;
}

export type CatalogChange = 'tools' | 'resources' | 'prompts';

/**
 * Optional capabilities beyond tools, implemented by connectors that federate an upstream MCP server.
 * Resource URIs are passed through unchanged; prompt names are local like tool names.
 */
export interface FederatedCatalog {
  listResources(ctx: CatalogContext): Promise<readonly ResourceDescriptor[]>;
  listResourceTemplates(ctx: CatalogContext): Promise<readonly ResourceTemplateDescriptor[]>;
  readResource(uri: string, ctx: ConnectorContext): Promise<JsonObject>;
  listPrompts(ctx: CatalogContext): Promise<readonly PromptDescriptor[]>;
  getPrompt(name: string, args: Record<string, string>, ctx: ConnectorContext): Promise<JsonObject>;
  complete?(params: JsonObject, ctx: ConnectorContext): Promise<JsonObject>;
  subscribeResource?(uri: string, ctx: ConnectorContext): Promise<void>;
  unsubscribeResource?(uri: string, ctx: ConnectorContext): Promise<void>;
}

export interface Connector {
  readonly id: string;
  readonly kind: 'http' | 'mcp';
  /** Tools as the backend describes them (local names). Connectors may cache; `onChange` says when to re-list. */
  listTools(ctx: CatalogContext): Promise<readonly ToolDescriptor[]>;
  /**
   * Validate arguments against the tool's schema and work out exactly what the call will do, without
   * doing it. Throws ConnectorError TOOL_NOT_FOUND / INVALID_ARGUMENTS.
   */
  prepareCall(tool: string, args: JsonObject): Promise<PreparedCall>;
  /** Perform a prepared call. Backend failures throw ConnectorError UPSTREAM_*; a tool-level error is `isError`. */
  callTool(call: PreparedCall, ctx: ConnectorContext): Promise<ToolResult>;
  /** Present on connectors that federate resources and prompts. */
  readonly catalog?: FederatedCatalog;
  /** Re-read the backend's catalog now instead of serving a cached one (explicit refreshes, re-checks). */
  reload?(): Promise<void>;
  /** Subscribe to catalog changes (e.g. upstream `list_changed`). Returns an unsubscribe function. */
  onChange?(listener: (change: CatalogChange) => void): () => void;
  close(): Promise<void>;
}

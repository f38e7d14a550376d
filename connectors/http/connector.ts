/**
 * The `http` connector: tools that are calls to one backend REST API.
 *
 * Created once per configuration load (`createHttpConnector` is async because an OpenAPI document may be
 * read from disk). Every tool's path template is parsed and its input schema compiled at creation, so a
 * broken tool fails the load, not a call. `prepareCall` validates arguments and computes the exact request
 * (the policy decides on it); `callTool` sends exactly that request through `ctx.fetch`, the gateway's
 * egress-guarded fetch, and never through global fetch.
 */
import {
  isJsonObject,
  type CatalogContext,
  type Connector,
  type ConnectorContext,
  type HttpOperation,
  type JsonObject,
  type PreparedCall,
  type ToolDescriptor,
  type ToolResult,
} from '../contract.js';
import { ConnectorError, isConnectorError, isEgressError } from '../errors.js';
import { createArgumentValidatorCompiler, type ArgumentValidator } from './arguments.js';
import {
  HttpConnectorConfigError,
  HttpConnectorConfigSchema,
  type HttpConnectorConfig,
  type HttpConnectorConfigInput,
  type HttpToolSpec,
} from './config.js';
import { importOpenApiTools, loadOpenApiDocument } from './openapi.js';
import { parsePathTemplate, type PathTemplate } from './path.js';
import { buildRequest, fullPathTemplate, originFromBaseUrl, type BuiltRequest, type HttpOrigin } from './request.js';
import { readBodyCapped, toToolResult } from './response.js';

export interface HttpConnectorOptions {
  /** Directory relative OpenAPI document paths resolve against (the configuration file's directory). */
  baseDir?: string;
  /** Told about every OpenAPI operation or parameter that was skipped (also kept in `warnings`). */
  onWarning?: (message: string) => void;
}

export interface HttpConnector extends Connector {
  readonly kind: 'http';
  /** What the OpenAPI import skipped or left out, one line each. */
  readonly warnings: readonly string[];
}

interface CompiledTool {
  spec: HttpToolSpec;
  template: PathTemplate;
  validate: ArgumentValidator;
  descriptor: ToolDescriptor;
}

/** What tool results can carry: JSON and text (images and audio are still mapped when a backend sends them). */
const ACCEPT = 'application/json, text/*';

async function collectTools(
  config: HttpConnectorConfig,
  options: HttpConnectorOptions,
): Promise<{ tools: HttpToolSpec[]; warnings: string[] }> {
  const tools = [...(config.tools ?? [])];
  const warnings: string[] = [];
  if (config.openapi !== undefined) {
    const source = config.openapi;
    // The importer resolves references in place: an inline document is copied so the config stays as written.
    const document =
      typeof source.document === 'string'
        ? await loadOpenApiDocument(source.document, options.baseDir)
        : structuredClone(source.document);
    const imported = await importOpenApiTools(document, {
      ...(source.operationIds !== undefined ? { operationIds: source.operationIds } : {}),
      ...(source.tags !== undefined ? { tags: source.tags } : {}),
    });
    warnings.push(...imported.warnings.map((w) => `connector ${config.id}: ${w}`));
    const declared = new Set(tools.map((t) => t.name));
    for (const tool of imported.tools) {
      if (declared.has(tool.name))
        throw new HttpConnectorConfigError(
          `connector ${config.id}: tool "${tool.name}" is both declared and imported from OpenAPI`,
        );
      tools.push(tool);
    }
  }
  return { tools, warnings };
}

function compileTools(
  config: HttpConnectorConfig,
  origin: HttpOrigin,
  specs: readonly HttpToolSpec[],
): Map<string, CompiledTool> {
  const compiler = createArgumentValidatorCompiler();
  const compiled = new Map<string, CompiledTool>();
  for (const spec of specs) {
    if (compiled.has(spec.name))
      throw new HttpConnectorConfigError(`connector ${config.id}: duplicate tool name "${spec.name}"`);
    let validate: ArgumentValidator;
    try {
      validate = compiler.compile(spec.inputSchema);
    } catch (error) {
      throw new HttpConnectorConfigError(
        `connector ${config.id}: tool "${spec.name}" has an invalid inputSchema: ${(error as Error).message}`,
      );
    }
    const title = spec.title ?? spec.annotations?.title;
    const descriptor: ToolDescriptor = {
      name: spec.name,
      ...(title !== undefined ? { title } : {}),
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      inputSchema: spec.inputSchema,
      ...(spec.annotations !== undefined ? { annotations: spec.annotations } : {}),
      operation: {
        method: spec.method,
        pathTemplate: fullPathTemplate(origin, spec.path),
        scheme: origin.scheme,
        host: origin.host,
        port: origin.port,
      },
    };
    compiled.set(spec.name, { spec, template: parsePathTemplate(spec.path), validate, descriptor });
  }
  return compiled;
}

function sameOperation(a: HttpOperation, b: HttpOperation): boolean {
  return (
    a.method === b.method &&
    a.url === b.url &&
    a.path === b.path &&
    a.query === b.query &&
    a.host === b.host &&
    a.port === b.port &&
    a.scheme === b.scheme
  );
}

/**
 * Create an http connector from its configuration (parsed here again, so raw YAML-shaped input is accepted).
 * Throws HttpConnectorConfigError for an unusable configuration or OpenAPI document.
 */
export async function createHttpConnector(
  input: HttpConnectorConfigInput,
  options: HttpConnectorOptions = {},
): Promise<HttpConnector> {
  const parsed = HttpConnectorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const id = isJsonObject(input) && typeof input['id'] === 'string' ? input['id'] : '(unknown)';
    throw new HttpConnectorConfigError(
      `connector ${id}: invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  const origin = originFromBaseUrl(config.baseUrl);
  const { tools: specs, warnings } = await collectTools(config, options);
  for (const warning of warnings) options.onWarning?.(warning);
  const tools = compileTools(config, origin, specs);
  const descriptors = Object.freeze([...tools.values()].map((t) => t.descriptor));
  // Built requests this connector handed out; `callTool` sends only these (or rebuilds from the arguments).
  const issued = new WeakMap<BuiltRequest, CompiledTool>();
  let closed = false;

  function prepare(name: string, args: unknown): { tool: CompiledTool; built: BuiltRequest; args: JsonObject } {
    const tool = tools.get(name);
    if (tool === undefined) throw new ConnectorError('TOOL_NOT_FOUND', `unknown tool: ${name}`);
    if (!isJsonObject(args)) throw new ConnectorError('INVALID_ARGUMENTS', 'arguments must be an object');
    const errors = tool.validate(args);
    if (errors.length > 0) throw new ConnectorError('INVALID_ARGUMENTS', `invalid arguments for ${name}`, { errors });
    const built = buildRequest(origin, tool.spec, tool.template, args);
    return { tool, built, args };
  }

  async function send(tool: CompiledTool, built: BuiltRequest, ctx: ConnectorContext): Promise<ToolResult> {
    if (ctx.signal.aborted) throw new ConnectorError('CANCELLED', 'the call was cancelled');
    const headers = new Headers(built.headers);
    headers.set('accept', ACCEPT);
    if (built.body !== undefined) headers.set('content-type', 'application/json');
    for (const [name, value] of Object.entries(ctx.meta)) headers.set(name, value);

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), config.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    const failure = (error: unknown): unknown => {
      if (ctx.signal.aborted) return new ConnectorError('CANCELLED', 'the call was cancelled');
      if (timeout.signal.aborted)
        return new ConnectorError('UPSTREAM_TIMEOUT', `the backend did not answer within ${config.timeoutMs} ms`);
      if (isConnectorError(error)) return error;
      // The gateway's own fetch errors (egress denial, response cap and the like): keep them intact.
      if (isEgressError(error)) return error;
      if (error instanceof Error && error.name === 'TimeoutError')
        return new ConnectorError('UPSTREAM_TIMEOUT', 'the backend did not answer in time');
      // Socket and TLS errors: their messages may carry addresses or URLs, so the message is written here.
      return new ConnectorError(
        'UPSTREAM_UNAVAILABLE',
        `the backend at ${built.operation.host}:${built.operation.port} is unreachable`,
        undefined,
        { cause: error },
      );
    };

    try {
      let response: Response;
      try {
        response = await ctx.fetch(built.operation.url, {
          method: built.operation.method,
          headers,
          ...(built.body !== undefined ? { body: built.body } : {}),
          signal,
          redirect: 'manual',
        });
      } catch (error) {
        throw failure(error);
      }
      let bytes: Uint8Array;
      try {
        bytes =
          built.operation.method === 'HEAD'
            ? new Uint8Array(0)
            : await readBodyCapped(response, config.maxResponseBytes);
      } catch (error) {
        await response.body?.cancel().catch(() => undefined);
        throw failure(error);
      }
      if (built.operation.method === 'HEAD') await response.body?.cancel().catch(() => undefined);
      return toToolResult(
        response.status,
        response.headers.get('content-type'),
        bytes,
        tool.spec.response?.mode ?? 'auto',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    id: config.id,
    kind: 'http',
    warnings: Object.freeze([...warnings]),

    async listTools(_ctx: CatalogContext) {
      return descriptors;
    },

    async prepareCall(name, args) {
      const { tool, built, args: validated } = prepare(name, args);
      issued.set(built, tool);
      return { tool: name, args: validated, operation: built.operation, internal: built };
    },

    async callTool(call: PreparedCall, ctx: ConnectorContext) {
      if (closed) throw new ConnectorError('UPSTREAM_UNAVAILABLE', `connector ${config.id} is closed`);
      // Send what was prepared, and only that: a call not prepared here is prepared again from its arguments,
      // and an operation that differs from what the arguments produce is refused rather than sent.
      const internal =
        typeof call.internal === 'object' && call.internal !== null ? (call.internal as BuiltRequest) : undefined;
      const preparedFor = internal !== undefined ? issued.get(internal) : undefined;
      const { tool, built } =
        internal !== undefined && preparedFor !== undefined && preparedFor.spec.name === call.tool
          ? { tool: preparedFor, built: internal }
          : prepare(call.tool, call.args);
      if (call.operation !== undefined && !sameOperation(call.operation, built.operation)) {
        throw new ConnectorError('INVALID_ARGUMENTS', 'the prepared operation does not match the call');
      }
      return send(tool, built, ctx);
    },

    async close() {
      closed = true;
    },
  };
}

/**
 * The pipeline's face to the edges: one method per operation, each of which creates the run's span and
 * CallState, runs that operation's list of steps (lists.ts) through the runner, and converts the run's
 * outcome once. Tool calls answer denials and backend faults as tool results with `isError` and a stable
 * code, and throw only caller mistakes (unknown tool, bad arguments) for the edge to turn into JSON-RPC
 * errors; resources, prompts and completions throw GatewayErrors.
 *
 * Tracing: each run is a span under its task's span (one trace per task), linked to the agent's own trace
 * when the agent sent a `traceparent`; steps add their own child spans (decision, approval wait, backend).
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, context as otelContext, trace, type Link, type Span } from '@opentelemetry/api';
import type { JsonObject, ToolResult } from '../../connectors/contract.js';
import { CALLER_ERROR_CODES, GatewayError, canonicalHash, keepJson, type Principal } from '../kernel/index.js';
import type { AuditRecordInput } from '../services/audit/index.js';
import type { Catalog, CatalogTool } from '../services/catalog/index.js';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROMPT_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_JSONRPC_REQUEST_ID,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_MCP_SESSION_ID,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_PORTCULLIS_AGENT_ID,
  ATTR_PORTCULLIS_TASK_ID,
  ATTR_PORTCULLIS_TASK_INTENT,
  GEN_AI_OPERATION_EXECUTE_TOOL,
  currentTraceId,
  extractTraceparentFromMeta,
  getTracer,
} from '../services/telemetry/index.js';
import type { CallContext, CallState, McpConnection, Operation, RunOutcome } from './call-state.js';
import { isVisible } from './decide.js';
import { buildStepLists, type PipelineDeps } from './lists.js';
import { runSteps } from './runner.js';
import { createVisibility, type Visibility } from './visibility.js';

export interface ListedTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
}

export interface Pipeline {
  listTools(principal: Principal): ListedTool[];
  /**
   * One tool as `listTools` lists it to this principal, or undefined when it is unknown or hidden from it:
   * found by name and judged alone, whatever the size of the catalog.
   */
  visibleTool(principal: Principal, name: string): ListedTool | undefined;
  /** Can this principal see anything of this connector (a tool, resource, template or prompt)? */
  connectorVisible(principal: Principal, connectorId: string): boolean;
  callTool(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult>;
  /**
   * Ask ahead of time for approval of a call the agent intends to make: decided exactly like the call, and
   * when it needs approval, filed as an elevation request without running anything.
   */
  requestElevation(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult>;
  readResource(uri: string, ctx: CallContext): Promise<JsonObject>;
  subscribeResource(uri: string, ctx: CallContext): Promise<void>;
  getPrompt(name: string, args: Record<string, string>, ctx: CallContext): Promise<JsonObject>;
  /** `params` as the agent sent them (`ref`, `argument`, `context`). */
  complete(params: JsonObject, ctx: CallContext): Promise<JsonObject>;
  /** Listings and notification filters, by the same rules that decide calls. */
  readonly visibility: Visibility;
  readonly catalog: Catalog;
}

/** The gateway's own tool for asking ahead of time; listed when approvals are configured. */
export const REQUEST_ELEVATION_TOOL: ListedTool = keepJson({
  name: 'portcullis_request_elevation',
  title: 'Request approval for a call',
  description:
    'Ask an operator ahead of time to approve a tool call you intend to make. Give the exact tool name and arguments and say why. The answer is a request id; when it is approved, make the same call with the same arguments.',
  inputSchema: {
    type: 'object',
    properties: {
      tool: { type: 'string', minLength: 1, maxLength: 128 },
      arguments: { type: 'object' },
      justification: { type: 'string', minLength: 1, maxLength: 1000 },
    },
    required: ['tool', 'arguments', 'justification'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
});

export function createPipeline(deps: PipelineDeps): Pipeline {
  const visibility = createVisibility(deps.catalog, deps.policy);
  const lists = buildStepLists(deps);

  async function run(operation: Operation, name: string, args: JsonObject, ctx: CallContext): Promise<CallState> {
    const agentContext =
      ctx.meta['traceparent'] !== undefined ? trace.getSpanContext(extractTraceparentFromMeta(ctx.meta)) : undefined;
    const links: Link[] =
      agentContext !== undefined && trace.isSpanContextValid(agentContext) ? [{ context: agentContext }] : [];
    const parent = ctx.traceContext ?? otelContext.active();
    const leave = deps.activeCalls?.enter();
    try {
      return await getTracer().startActiveSpan(
        spanName(operation, name),
        { kind: SpanKind.SERVER, links, attributes: runAttributes(operation, name, ctx) },
        parent,
        async (span) => {
          try {
            const state = initialState(operation, name, args, ctx, span);
            await runSteps(lists[operation], state, {
              ...(deps.metrics !== undefined ? { metrics: deps.metrics } : {}),
              ...(deps.onError !== undefined ? { onError: deps.onError } : {}),
            });
            return state;
          } finally {
            span.end();
          }
        },
      );
    } finally {
      leave?.();
    }
  }

  /** Tool calls: denials and faults as tool results; caller mistakes thrown. */
  async function toolRun(operation: Operation, name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult> {
    const state = await run(operation, name, args, ctx);
    const error = failure(state.outcome);
    if (error === undefined) return state.result as ToolResult;
    if (CALLER_ERROR_CODES.has(error.code)) throw error;
    return errorResult(error);
  }

  /** Resources, prompts, completions: any failure thrown, for the edge to answer as a JSON-RPC error. */
  async function catalogRun(
    operation: Operation,
    name: string,
    args: JsonObject,
    ctx: CallContext,
  ): Promise<JsonObject> {
    const state = await run(operation, name, args, ctx);
    const error = failure(state.outcome);
    if (error !== undefined) throw error;
    return (state.result ?? {}) as JsonObject;
  }

  return {
    listTools: (principal) =>
      deps.catalog
        .tools()
        .filter((tool) => isVisible(deps.policy, principal, tool))
        .map(listedTool),
    visibleTool: (principal, name) => {
      const tool = deps.catalog.resolveTool(name);
      return tool !== undefined && isVisible(deps.policy, principal, tool) ? listedTool(tool) : undefined;
    },
    connectorVisible: (principal, connectorId) =>
      deps.catalog
        .tools()
        .some((tool) => tool.connector.id === connectorId && isVisible(deps.policy, principal, tool)) ||
      visibility.connectorVisible(principal, connectorId),
    callTool: (name, args, ctx) => toolRun('tools/call', name, args, ctx),
    async requestElevation(name, args, ctx) {
      const state = await run('elevation/request', name, args, ctx);
      const error = failure(state.outcome);
      if (error === undefined) return state.result as ToolResult;
      // Asking about a tool that does not exist, or with arguments it does not take, is the caller's mistake.
      if (state.outcome?.status === 'ended' && (state.outcome.step === 'resolve' || state.outcome.step === 'prepare'))
        throw error;
      return errorResult(error);
    },
    readResource: (uri, ctx) => catalogRun('resources/read', uri, {}, ctx),
    async subscribeResource(uri, ctx) {
      await catalogRun('resources/subscribe', uri, {}, ctx);
    },
    getPrompt: (name, args, ctx) => catalogRun('prompts/get', name, args, ctx),
    complete: (params, ctx) => {
      const ref = params['ref'] as JsonObject | undefined;
      const name = typeof ref?.['name'] === 'string' ? ref['name'] : typeof ref?.['uri'] === 'string' ? ref['uri'] : '';
      return catalogRun('completion/complete', name, params, ctx);
    },
    visibility,
    catalog: deps.catalog,
  };
}

function initialState(operation: Operation, name: string, args: JsonObject, ctx: CallContext, span: Span): CallState {
  const record: AuditRecordInput = {
    event: 'tool.call',
    agentId: ctx.principal.agentId,
    ...(ctx.principal.tenant !== undefined ? { tenant: ctx.principal.tenant } : {}),
    taskId: ctx.task.id,
    ...(ctx.sessionId !== undefined ? { sessionId: ctx.sessionId } : {}),
    // Pairs the write-ahead `call.intent` record with the outcome record (`portcullis audit verify`).
    callId: randomUUID(),
    ...(operation === 'tools/call' || operation === 'elevation/request'
      ? { tool: name, argsHash: canonicalHash(args) }
      : { operation: `${operation} ${name}` }),
  };
  const traceId = currentTraceId();
  if (traceId !== undefined) record.traceId = traceId;
  return {
    operation,
    name,
    args,
    ctx,
    span,
    started: performance.now(),
    record,
    task: ctx.task,
    elevated: false,
    intentRecorded: false,
  };
}

/** The error the agent sees for a run that did not complete. */
function failure(outcome: RunOutcome | undefined): GatewayError | undefined {
  if (outcome === undefined) return new GatewayError('INTERNAL', 'internal gateway error');
  if (outcome.status === 'completed') return undefined;
  return outcome.status === 'ended' ? outcome.error : outcome.resume.error;
}

function spanName(operation: Operation, name: string): string {
  return operation === 'tools/call' || operation === 'prompts/get' ? `${operation} ${name}` : operation;
}

/** The MCP method an operation answers: the elevation tool is itself a `tools/call`. */
function mcpMethod(operation: Operation): string {
  return operation === 'elevation/request' ? 'tools/call' : operation;
}

function connectionAttributes(connection: McpConnection | undefined): Record<string, string> {
  if (connection === undefined) return {};
  return {
    [ATTR_NETWORK_TRANSPORT]: connection.transport,
    ...(connection.protocolName !== undefined ? { [ATTR_NETWORK_PROTOCOL_NAME]: connection.protocolName } : {}),
    ...(connection.networkProtocolVersion !== undefined
      ? { [ATTR_NETWORK_PROTOCOL_VERSION]: connection.networkProtocolVersion }
      : {}),
    ...(connection.protocolVersion !== undefined ? { [ATTR_MCP_PROTOCOL_VERSION]: connection.protocolVersion } : {}),
  };
}

function runAttributes(operation: Operation, name: string, ctx: CallContext): Record<string, string> {
  return {
    [ATTR_MCP_METHOD_NAME]: mcpMethod(operation),
    ...(operation === 'tools/call'
      ? { [ATTR_GEN_AI_TOOL_NAME]: name, [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_EXECUTE_TOOL }
      : {}),
    ...(operation === 'prompts/get' ? { [ATTR_GEN_AI_PROMPT_NAME]: name } : {}),
    ...connectionAttributes(ctx.connection),
    [ATTR_PORTCULLIS_AGENT_ID]: ctx.principal.agentId,
    [ATTR_PORTCULLIS_TASK_ID]: ctx.task.id,
    ...(ctx.task.intent !== undefined ? { [ATTR_PORTCULLIS_TASK_INTENT]: ctx.task.intent } : {}),
    ...(ctx.sessionId !== undefined ? { [ATTR_MCP_SESSION_ID]: ctx.sessionId } : {}),
    ...(ctx.requestId !== undefined ? { [ATTR_JSONRPC_REQUEST_ID]: String(ctx.requestId) } : {}),
  };
}

/** A denial or fault as the agent sees it: a tool result it can read and react to. */
export function errorResult(error: GatewayError): ToolResult {
  const approvalId = error.details?.['approvalId'];
  return {
    content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
    isError: true,
    _meta: {
      'portcullis/code': error.code,
      ...(typeof approvalId === 'string' ? { 'portcullis/approvalId': approvalId } : {}),
    },
  };
}

/**
 * Each catalog tool as it is listed, made once and kept with its JSON (`keepJson`): a catalog tool and its
 * descriptor never change (a reload makes new ones), so neither does its listing, and a `tools/list` answer
 * reuses the listed tools' JSON instead of writing it again for every agent that asks.
 */
const listedTools = new WeakMap<CatalogTool, ListedTool>();

function listedTool(tool: CatalogTool): ListedTool {
  let listed = listedTools.get(tool);
  if (listed === undefined) {
    listed = keepJson(toListedTool(tool));
    listedTools.set(tool, listed);
  }
  return listed;
}

function toListedTool(tool: CatalogTool): ListedTool {
  const d = tool.descriptor;
  return {
    name: tool.exposedName,
    ...(d.title !== undefined ? { title: d.title } : {}),
    ...(d.description !== undefined ? { description: d.description } : {}),
    inputSchema: d.inputSchema,
    ...(d.outputSchema !== undefined ? { outputSchema: d.outputSchema } : {}),
    ...(d.annotations !== undefined ? { annotations: d.annotations } : {}),
  };
}

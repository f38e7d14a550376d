/**
 * The tool-call pipeline: the only place that orchestrates the steps of a call (DESIGN.md section 2).
 *
 *   authenticate (at the edge) -> resolve -> prepare -> decide -> [elevate] -> [credential] -> invoke -> record
 *
 * Each step is its own module; this file decides their order and what happens on each outcome. Every call
 * is recorded exactly once, whatever the outcome. Denials and backend faults come back as tool results with
 * `isError` and a stable code; only caller mistakes (unknown tool, bad arguments) are thrown, for the MCP
 * edge to turn into JSON-RPC errors. A hidden tool is reported exactly like an unknown one.
 */
import { randomUUID } from 'node:crypto';
import type { CatalogContext, Connector, ConnectorContext, FetchLike, JsonObject, LogMessage, ProgressUpdate, ToolResult } from '../../connectors/contract.js';
import type { Decision, TaskFacts } from '../../policies/types.js';
import type { AuditRecordInput, AuditSink } from '../audit/types.js';
import type { Principal } from '../auth/types.js';
import { GatewayError, toGatewayError, CALLER_ERROR_CODES } from '../errors.js';
import { canonicalHash } from '../util/canonical-json.js';
import type { Catalog, CatalogTool } from './catalog.js';
import { callFacts, decide, isVisible, type PolicySource } from './decide.js';
import { withOutboundHygiene } from './outbound.js';
import { elevate, type Elevation } from './elevate.js';

/** Which network scope a backend request belongs to, for the egress guard. */
export interface EgressScope {
  connector: string;
  tool?: string;
  principal?: Principal;
  task?: TaskFacts;
}

export interface EgressProvider {
  fetchFor(scope: EgressScope): FetchLike;
}

export interface CallContext {
  principal: Principal;
  task: TaskFacts;
  sessionId?: string;
  requestId?: string | number;
  signal: AbortSignal;
  /** Propagation fields for the backend (e.g. `traceparent`). */
  meta: Record<string, string>;
  onProgress?: (update: ProgressUpdate) => void;
  onLog?: (message: LogMessage) => void;
  relayRequest?: (method: string, params: JsonObject, signal: AbortSignal) => Promise<JsonObject>;
}

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
  callTool(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult>;
  readonly catalog: Catalog;
}

export interface PipelineOptions {
  catalog: Catalog;
  policy: PolicySource;
  egress: EgressProvider;
  audit: AuditSink;
  /** Approval queue and grants; without it, calls that need approval are refused (APPROVAL_REQUIRED). */
  elevation?: Elevation;
  /** Wait for the audit record to be durable before answering. */
  flushAuditBeforeResponse: boolean;
  /** Upper bound for one call, whatever the connector's own timeouts. */
  callTimeoutMs: number;
  now?: () => number;
  /** Trace id of the current context, for audit records. */
  currentTraceId?: () => string | undefined;
  onError?: (error: unknown, where: string) => void;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const now = options.now ?? Date.now;

  function listTools(principal: Principal): ListedTool[] {
    return options.catalog
      .tools()
      .filter((tool) => isVisible(options.policy, principal, tool))
      .map(toListedTool);
  }

  async function callTool(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult> {
    const started = performance.now();
    const record: AuditRecordInput = {
      event: 'tool.call',
      agentId: ctx.principal.agentId,
      ...(ctx.principal.tenant !== undefined ? { tenant: ctx.principal.tenant } : {}),
      taskId: ctx.task.id,
      ...(ctx.sessionId !== undefined ? { sessionId: ctx.sessionId } : {}),
      tool: name,
      argsHash: canonicalHash(args),
    };
    const traceId = options.currentTraceId?.();
    if (traceId !== undefined) record.traceId = traceId;

    const finish = async (result: ToolResult | GatewayError, decision?: Decision): Promise<ToolResult> => {
      record.latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (decision !== undefined) {
        record.rules = decision.rules;
        if (decision.policyVersion !== undefined) record.policyVersion = decision.policyVersion;
      }
      const written = options.audit.append(record).catch((error: unknown) => options.onError?.(error, 'audit'));
      if (options.flushAuditBeforeResponse) await written;
      if (result instanceof GatewayError) {
        if (CALLER_ERROR_CODES.has(result.code)) throw result;
        return errorResult(result);
      }
      return result;
    };

    // 2 resolve: unknown and hidden tools are indistinguishable to the caller.
    const tool = options.catalog.resolveTool(name);
    if (tool === undefined || !isVisible(options.policy, ctx.principal, tool)) {
      Object.assign(record, { decision: 'deny', code: 'TOOL_NOT_FOUND', reason: tool === undefined ? 'unknown tool' : 'tool not visible to this agent' });
      return finish(new GatewayError('TOOL_NOT_FOUND', `unknown tool: ${name}`));
    }
    record.target = tool.connector.id;

    // prepare: validate arguments and compute the exact operation before deciding on it.
    let prepared;
    try {
      prepared = await tool.connector.prepareCall(tool.descriptor.name, args);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      Object.assign(record, { decision: 'deny', code: gatewayError.code, reason: gatewayError.message });
      return finish(gatewayError);
    }
    const operation = prepared.operation;
    record.operation = operation !== undefined ? `${operation.method} ${operation.url}` : `tools/call ${tool.descriptor.name}`;
    if (operation !== undefined) record.target = `${tool.connector.id} ${operation.host}:${operation.port}`;

    // 3 decide
    const decision = decide(options.policy, callFacts({ principal: ctx.principal, task: ctx.task, tool, call: prepared, now: now() }));
    if (decision.effect === 'deny') {
      Object.assign(record, { decision: 'deny', code: decision.code ?? 'POLICY_DENIED', reason: decision.reason });
      return finish(new GatewayError((decision.code ?? 'POLICY_DENIED') as GatewayError['code'], decision.reason), decision);
    }
    if (decision.effect === 'approve') {
      // 4 elevate: without an approval queue configured, a call that needs approval is refused (fail closed).
      if (options.elevation === undefined) {
        Object.assign(record, { decision: 'approve', code: 'APPROVAL_REQUIRED', reason: decision.reason });
        return finish(new GatewayError('APPROVAL_REQUIRED', `${decision.reason} (operator approval is not configured)`), decision);
      }
      const elevated = await elevate(options.elevation, {
        principal: ctx.principal,
        task: ctx.task,
        tool: tool.exposedName,
        ...(operation !== undefined ? { operation } : {}),
        args: prepared.args,
        argsHash: record.argsHash!,
        decision,
        signal: ctx.signal,
        ...(ctx.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
        ...(ctx.meta['traceparent'] !== undefined ? { traceparent: ctx.meta['traceparent'] } : {}),
      });
      if ('refused' in elevated) {
        Object.assign(record, { decision: 'approve', code: elevated.refused.code, reason: elevated.refused.message });
        if (elevated.approvalId !== undefined) record.approvalId = elevated.approvalId;
        return finish(elevated.refused, decision);
      }
      record.approvalId = elevated.granted.ticketId;
      record.detail = { grantScope: elevated.granted.scope, approvers: elevated.granted.approvers };
    }

    // 6 invoke
    const deadline = AbortSignal.timeout(options.callTimeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    const connectorContext: ConnectorContext = {
      callId: randomUUID(),
      signal,
      fetch: withOutboundHygiene(
        options.egress.fetchFor({ connector: tool.connector.id, tool: tool.exposedName, principal: ctx.principal, task: ctx.task }),
      ),
      meta: ctx.meta,
      ...(ctx.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
      ...(ctx.onLog !== undefined ? { onLog: ctx.onLog } : {}),
      ...(ctx.relayRequest !== undefined ? { relayRequest: ctx.relayRequest } : {}),
    };
    try {
      const result = await tool.connector.callTool(prepared, connectorContext);
      const upstreamCode = result.isError === true ? result._meta?.['portcullis/code'] : undefined;
      Object.assign(record, {
        decision: result.isError === true ? 'error' : 'allow',
        ...(typeof upstreamCode === 'string' ? { code: upstreamCode } : {}),
      });
      return finish(result, decision);
    } catch (error) {
      let gatewayError = toGatewayError(error);
      if (deadline.aborted && !ctx.signal.aborted) gatewayError = new GatewayError('UPSTREAM_TIMEOUT', 'the call exceeded its deadline');
      if (gatewayError.code === 'INTERNAL') options.onError?.(error, `call ${name}`);
      // A fault behind the gateway is never reported as the caller's fault.
      if (CALLER_ERROR_CODES.has(gatewayError.code) && gatewayError.code !== 'INVALID_ARGUMENTS') {
        gatewayError = new GatewayError('UPSTREAM_ERROR', gatewayError.message);
      }
      Object.assign(record, { decision: gatewayError.code === 'EGRESS_DENIED' ? 'deny' : 'error', code: gatewayError.code, reason: gatewayError.message });
      return finish(gatewayError, decision);
    }
  }

  return { listTools, callTool, catalog: options.catalog };
}

/** A denial or fault as the agent sees it: a tool result it can read and react to. */
export function errorResult(error: GatewayError): ToolResult {
  const approvalId = error.details?.['approvalId'];
  return {
    content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
    isError: true,
    _meta: { 'portcullis/code': error.code, ...(typeof approvalId === 'string' ? { 'portcullis/approvalId': approvalId } : {}) },
  };
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

/** The catalog context for one connector: listing traffic goes through the same egress guard. */
export function catalogContextFor(egress: EgressProvider): (connector: Connector) => CatalogContext {
  return (connector) => ({ signal: AbortSignal.timeout(30_000), fetch: withOutboundHygiene(egress.fetchFor({ connector: connector.id })) });
}

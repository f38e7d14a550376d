/**
 * The tool-call pipeline: the only place that orchestrates the steps of a call (docs/design.md section 2).
 *
 *   authenticate (at the edge) -> resolve -> prepare -> decide -> [elevate] -> invoke -> record
 *
 * Each step is its own module; this file decides their order and what happens on each outcome. Every call
 * is recorded exactly once, whatever the outcome. Denials and backend faults come back as tool results with
 * `isError` and a stable code; only caller mistakes (unknown tool, bad arguments) are thrown, for the MCP
 * edge to turn into JSON-RPC errors. A hidden tool is reported exactly like an unknown one.
 *
 * Tracing: each call is a `tools/call {tool}` span under its task's span (one trace per task), linked to
 * the agent's own trace when the agent sent a `traceparent`, with child spans for the decision, the
 * approval wait and the backend request; the backend receives the backend span's `traceparent`.
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, context as otelContext, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import type {
  CatalogContext,
  Connector,
  ConnectorContext,
  FetchLike,
  JsonObject,
  LogMessage,
  ProgressUpdate,
  ToolResult,
} from '../../connectors/contract.js';
import type { TaskFacts } from '../../policies/types.js';
import type { CallDecision as Decision } from '../../policies/engine.js';
import type { AuditRecordInput, AuditSink } from '../services/audit/index.js';
import { type Principal, GatewayError, toGatewayError, CALLER_ERROR_CODES, canonicalHash } from '../kernel/index.js';
import type { Metrics } from '../services/metrics/index.js';
import * as attr from '../services/telemetry/index.js';
import {
  currentTraceId,
  extractTraceparentFromMeta,
  getTracer,
  injectTraceparent,
  markSpanError,
  setSpanAttributes,
  withSpan,
} from '../services/telemetry/index.js';
import type { Catalog, CatalogTool } from '../services/catalog/index.js';
import { callFacts, decide, isVisible, withinDeclaredTools, type PolicySource } from './decide.js';
import { elevate, type Elevation } from './elevate.js';
import { withCallCredential, withOutboundHygiene, type CredentialProvider } from '../services/credentials/index.js';

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
  /** Propagation fields the agent sent in `params._meta` (`traceparent`, `tracestate`). */
  meta: Record<string, string>;
  /** The task's trace context (its `task {intent}` span); calls become its children. */
  traceContext?: Context;
  /** The agent's reason for the call, shown to operators when it needs approval. */
  justification?: string;
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
  /**
   * Ask ahead of time for approval of a call the agent intends to make: decided exactly like the call, and
   * when it needs approval, filed as an elevation request without running anything.
   */
  requestElevation(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult>;
  readonly catalog: Catalog;
}

/** The gateway's own tool for asking ahead of time; listed when approvals are configured. */
export const REQUEST_ELEVATION_TOOL: ListedTool = {
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
};

export interface PipelineOptions {
  catalog: Catalog;
  policy: PolicySource;
  egress: EgressProvider;
  audit: AuditSink;
  /** Approval queue and grants; without it, calls that need approval are refused (APPROVAL_REQUIRED). */
  elevation?: Elevation;
  /** Backend credentials; without it, backends get no credential from the gateway. */
  credentials?: CredentialProvider;
  metrics?: Metrics;
  /**
   * The task's current state from the task store: ended tasks (and their credentials) stop working at once,
   * and data labels read earlier in the task (on any instance) feed data-flow rules. A store error is `ended`.
   */
  taskState?: (taskId: string) => Promise<{ live: boolean; labelsRead: readonly string[] }>;
  /** Record data labels a successful call read (rules with `labels.reads`). */
  recordLabels?: (taskId: string, labels: readonly string[]) => Promise<void>;
  /** Count a call against a rate limit; false when the limit is reached (or the counter is unavailable). */
  rateLimit?: (key: string, limit: number, windowSeconds: number) => Promise<boolean>;
  /** Wait for the audit record to be durable before answering. */
  flushAuditBeforeResponse: boolean;
  /** Upper bound for one call, whatever the connector's own timeouts. */
  callTimeoutMs: number;
  now?: () => number;
  onError?: (error: unknown, where: string) => void;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const now = options.now ?? Date.now;
  const metrics = options.metrics;

  function listTools(principal: Principal): ListedTool[] {
    return options.catalog
      .tools()
      .filter((tool) => isVisible(options.policy, principal, tool))
      .map(toListedTool);
  }

  function callTool(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult> {
    const agentContext =
      ctx.meta['traceparent'] !== undefined ? trace.getSpanContext(extractTraceparentFromMeta(ctx.meta)) : undefined;
    const links: Link[] =
      agentContext !== undefined && trace.isSpanContextValid(agentContext) ? [{ context: agentContext }] : [];
    const parent = ctx.traceContext ?? otelContext.active();
    return getTracer().startActiveSpan(
      `tools/call ${name}`,
      {
        kind: SpanKind.SERVER,
        links,
        attributes: {
          [attr.ATTR_MCP_METHOD_NAME]: 'tools/call',
          [attr.ATTR_GEN_AI_TOOL_NAME]: name,
          [attr.ATTR_GEN_AI_OPERATION_NAME]: attr.GEN_AI_OPERATION_EXECUTE_TOOL,
          [attr.ATTR_PORTCULLIS_AGENT_ID]: ctx.principal.agentId,
          [attr.ATTR_PORTCULLIS_TASK_ID]: ctx.task.id,
          ...(ctx.task.intent !== undefined ? { [attr.ATTR_PORTCULLIS_TASK_INTENT]: ctx.task.intent } : {}),
          ...(ctx.sessionId !== undefined ? { [attr.ATTR_MCP_SESSION_ID]: ctx.sessionId } : {}),
          ...(ctx.requestId !== undefined ? { [attr.ATTR_JSONRPC_REQUEST_ID]: String(ctx.requestId) } : {}),
        },
      },
      parent,
      async (span) => {
        try {
          return await runCall(name, args, ctx, span);
        } finally {
          span.end();
        }
      },
    );
  }

  async function runCall(name: string, args: JsonObject, ctx: CallContext, span: Span): Promise<ToolResult> {
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
    const traceId = currentTraceId();
    if (traceId !== undefined) record.traceId = traceId;

    const finish = async (result: ToolResult | GatewayError, decision?: Decision): Promise<ToolResult> => {
      const latencyMs = performance.now() - started;
      record.latencyMs = Math.round(latencyMs * 1000) / 1000;
      if (decision !== undefined) {
        record.rules = decision.rules;
        if (decision.policyVersion !== undefined) record.policyVersion = decision.policyVersion;
      }
      setSpanAttributes(span, {
        [attr.ATTR_PORTCULLIS_DECISION]: record.decision ?? 'error',
        ...(record.rules !== undefined ? { [attr.ATTR_PORTCULLIS_RULES]: [...record.rules] } : {}),
        ...(record.policyVersion !== undefined ? { [attr.ATTR_PORTCULLIS_POLICY_VERSION]: record.policyVersion } : {}),
        ...(record.approvalId !== undefined ? { [attr.ATTR_PORTCULLIS_APPROVAL_ID]: record.approvalId } : {}),
      });
      if (record.code !== undefined) markSpanError(span, { code: record.code });
      metrics?.observeToolCall(name, callOutcome(record), latencyMs / 1000);
      const written = options.audit.append(record).then(
        () => true,
        (error: unknown) => {
          options.onError?.(error, 'audit');
          return false;
        },
      );
      // Where the audit is flushed before answering, an unrecorded call returns nothing (fail closed).
      if (options.flushAuditBeforeResponse && !(await written)) {
        return errorResult(
          new GatewayError('INTERNAL', 'the call could not be recorded in the audit log; its result is withheld'),
        );
      }
      if (result instanceof GatewayError) {
        if (CALLER_ERROR_CODES.has(result.code)) throw result;
        return errorResult(result);
      }
      return result;
    };

    let task = ctx.task;
    if (options.taskState !== undefined) {
      const state = await options.taskState(ctx.task.id).catch(() => ({ live: false, labelsRead: [] }));
      if (!state.live) {
        Object.assign(record, { decision: 'deny', code: 'TASK_ENDED', reason: 'the task has ended' });
        return finish(new GatewayError('TASK_ENDED', 'the task has ended; open a new task'));
      }
      if (state.labelsRead.length > 0) task = { ...ctx.task, labelsRead: state.labelsRead };
    }

    // 2 resolve: unknown and hidden tools are indistinguishable to the caller.
    const tool = options.catalog.resolveTool(name);
    if (tool === undefined || !isVisible(options.policy, ctx.principal, tool)) {
      const quarantined = tool === undefined ? options.catalog.quarantinedTool(name) : undefined;
      Object.assign(record, {
        decision: 'deny',
        code: quarantined !== undefined ? 'TOOL_QUARANTINED' : 'TOOL_NOT_FOUND',
        reason:
          quarantined !== undefined
            ? quarantineReason(quarantined)
            : tool === undefined
              ? 'unknown tool'
              : 'tool not visible to this agent',
      });
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
    record.operation =
      operation !== undefined ? `${operation.method} ${operation.url}` : `tools/call ${tool.descriptor.name}`;
    if (operation !== undefined) record.target = `${tool.connector.id} ${operation.host}:${operation.port}`;

    // 3 decide
    const decision = await withSpan(attr.spanNames.decision, {}, (decisionSpan) => {
      const result = withinDeclaredTools(
        decide(options.policy, callFacts({ principal: ctx.principal, task, tool, call: prepared, now: now() })),
        task,
        tool.exposedName,
      );
      setSpanAttributes(decisionSpan, {
        [attr.ATTR_PORTCULLIS_DECISION]: result.effect,
        [attr.ATTR_PORTCULLIS_RULES]: [...result.rules],
        ...(result.policyVersion !== undefined ? { [attr.ATTR_PORTCULLIS_POLICY_VERSION]: result.policyVersion } : {}),
      });
      return result;
    });
    metrics?.recordDecision(decision.effect, decision.rules);
    if (decision.effect !== 'deny' && decision.rateLimits !== undefined && decision.rateLimits.length > 0) {
      for (const limit of decision.rateLimits) {
        const within =
          options.rateLimit === undefined
            ? false
            : await options.rateLimit(limit.key, limit.calls, limit.perSeconds).catch(() => false);
        if (!within) {
          Object.assign(record, {
            decision: 'deny',
            code: 'RATE_LIMITED',
            reason: `rate limit of rule ${limit.rule} reached (${limit.calls} per ${limit.perSeconds}s)`,
          });
          return finish(
            new GatewayError(
              'RATE_LIMITED',
              `rate limit reached: at most ${limit.calls} calls per ${limit.perSeconds} s`,
            ),
            decision,
          );
        }
      }
    }
    if (decision.effect === 'deny') {
      const code = (decision.code ?? 'POLICY_DENIED') as GatewayError['code'];
      Object.assign(record, { decision: 'deny', code, reason: decision.reason });
      return finish(new GatewayError(code, decision.reason), decision);
    }
    let elevated = false;
    if (decision.effect === 'approve') {
      // 4 elevate: without an approval queue configured, a call that needs approval is refused (fail closed).
      if (options.elevation === undefined) {
        Object.assign(record, { decision: 'approve', code: 'APPROVAL_REQUIRED', reason: decision.reason });
        return finish(
          new GatewayError('APPROVAL_REQUIRED', `${decision.reason} (operator approval is not configured)`),
          decision,
        );
      }
      const elevation = options.elevation;
      const outcome = await withSpan(attr.spanNames.approvalWait, {}, async (waitSpan) => {
        const traceparent = injectTraceparent({} as Record<string, string>)['traceparent'];
        const result = await elevate(elevation, {
          principal: ctx.principal,
          task: ctx.task,
          tool: tool.exposedName,
          ...(operation !== undefined ? { operation } : {}),
          args: prepared.args,
          argsHash: record.argsHash!,
          decision,
          signal: ctx.signal,
          ...(ctx.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
          ...(traceparent !== undefined ? { traceparent } : {}),
          ...(ctx.justification !== undefined ? { justification: ctx.justification } : {}),
        });
        const approvalId = 'granted' in result ? result.granted.ticketId : result.approvalId;
        setSpanAttributes(waitSpan, {
          ...(approvalId !== undefined ? { [attr.ATTR_PORTCULLIS_APPROVAL_ID]: approvalId } : {}),
          [attr.ATTR_PORTCULLIS_DECISION]: 'granted' in result ? 'approved' : result.refused.code,
          ...('granted' in result ? { 'portcullis.approval.approvers': [...result.granted.approvers] } : {}),
        });
        return result;
      });
      if ('refused' in outcome) {
        Object.assign(record, { decision: 'approve', code: outcome.refused.code, reason: outcome.refused.message });
        if (outcome.approvalId !== undefined) record.approvalId = outcome.approvalId;
        return finish(outcome.refused, decision);
      }
      record.approvalId = outcome.granted.ticketId;
      record.detail = { grantScope: outcome.granted.scope, approvers: outcome.granted.approvers };
      elevated = true;
    }

    // 5 credential + 6 invoke
    const deadline = AbortSignal.timeout(options.callTimeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    try {
      const credential =
        options.credentials !== undefined
          ? await options.credentials({
              principal: ctx.principal,
              task: ctx.task,
              tool,
              ...(operation !== undefined ? { operation: { method: operation.method, path: operation.path } } : {}),
              elevated,
            })
          : {};
      if (credential.jti !== undefined) {
        record.jti = credential.jti;
        setSpanAttributes(span, { [attr.ATTR_PORTCULLIS_CREDENTIAL_JTI]: credential.jti });
      }
      const result = await withSpan(
        attr.spanNames.backend,
        {
          'portcullis.connector': tool.connector.id,
          ...(operation !== undefined
            ? {
                'http.request.method': operation.method,
                'server.address': operation.host,
                'server.port': operation.port,
                'url.path': operation.path,
              }
            : { [attr.ATTR_MCP_METHOD_NAME]: 'tools/call', [attr.ATTR_GEN_AI_TOOL_NAME]: tool.descriptor.name }),
        },
        async () => {
          const connectorContext: ConnectorContext = {
            callId: randomUUID(),
            signal,
            // Built on first use: MCP connectors never fetch per call, HTTP connectors once.
            fetch: lazyFetch(() =>
              withOutboundHygiene(
                options.egress.fetchFor({
                  connector: tool.connector.id,
                  tool: tool.exposedName,
                  principal: ctx.principal,
                  task: ctx.task,
                }),
                credential.inject,
              ),
            ),
            meta: backendMeta(ctx.meta),
            ...(ctx.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
            ...(ctx.onLog !== undefined ? { onLog: ctx.onLog } : {}),
            ...(ctx.relayRequest !== undefined ? { relayRequest: ctx.relayRequest } : {}),
          };
          return withCallCredential(credential.inject, () => tool.connector.callTool(prepared, connectorContext));
        },
        { kind: SpanKind.CLIENT },
      );
      const upstreamCode = result.isError === true ? result._meta?.['portcullis/code'] : undefined;
      Object.assign(record, {
        decision: result.isError === true ? 'error' : 'allow',
        ...(typeof upstreamCode === 'string' ? { code: upstreamCode } : {}),
      });
      if (typeof upstreamCode === 'string') metrics?.upstreamError(tool.connector.id, upstreamCode);
      if (result.isError !== true && decision.labelsRead !== undefined && decision.labelsRead.length > 0) {
        // Data-flow: later calls of this task see what it has read (fail closed: a lost label would let data out).
        try {
          await options.recordLabels?.(ctx.task.id, decision.labelsRead);
        } catch (error) {
          options.onError?.(error, 'record labels');
          Object.assign(record, {
            decision: 'error',
            code: 'INTERNAL',
            reason: 'could not record the data labels this call read',
          });
          return finish(
            new GatewayError(
              'INTERNAL',
              'the call ran but its data labels could not be recorded; the result is withheld',
            ),
            decision,
          );
        }
      }
      return finish(result, decision);
    } catch (error) {
      let gatewayError = toGatewayError(error);
      if (deadline.aborted && !ctx.signal.aborted)
        gatewayError = new GatewayError('UPSTREAM_TIMEOUT', 'the call exceeded its deadline');
      if (gatewayError.code === 'INTERNAL') options.onError?.(error, `call ${name}`);
      // A fault behind the gateway is never reported as the caller's fault.
      if (CALLER_ERROR_CODES.has(gatewayError.code) && gatewayError.code !== 'INVALID_ARGUMENTS') {
        gatewayError = new GatewayError('UPSTREAM_ERROR', gatewayError.message);
      }
      if (gatewayError.code !== 'EGRESS_DENIED') metrics?.upstreamError(tool.connector.id, gatewayError.code);
      Object.assign(record, {
        decision: gatewayError.code === 'EGRESS_DENIED' ? 'deny' : 'error',
        code: gatewayError.code,
        reason: gatewayError.message,
      });
      return finish(gatewayError, decision);
    }
  }

  async function requestElevation(name: string, args: JsonObject, ctx: CallContext): Promise<ToolResult> {
    const text = (value: string, isError = false, meta: JsonObject = {}): ToolResult => ({
      content: [{ type: 'text', text: value }],
      ...(isError ? { isError: true } : {}),
      ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
    });
    const tool = options.catalog.resolveTool(name);
    if (tool === undefined || !isVisible(options.policy, ctx.principal, tool))
      throw new GatewayError('TOOL_NOT_FOUND', `unknown tool: ${name}`);
    let prepared;
    try {
      prepared = await tool.connector.prepareCall(tool.descriptor.name, args);
    } catch (error) {
      throw toGatewayError(error);
    }
    const decision = withinDeclaredTools(
      decide(options.policy, callFacts({ principal: ctx.principal, task: ctx.task, tool, call: prepared, now: now() })),
      ctx.task,
      tool.exposedName,
    );
    if (decision.effect === 'allow')
      return text(`${name} with these arguments is already allowed; no approval is needed.`);
    if (decision.effect === 'deny')
      return errorResult(new GatewayError((decision.code ?? 'POLICY_DENIED') as GatewayError['code'], decision.reason));
    if (options.elevation === undefined)
      return errorResult(
        new GatewayError('APPROVAL_REQUIRED', `${decision.reason} (operator approval is not configured)`),
      );
    const outcome = await elevate(options.elevation, {
      principal: ctx.principal,
      task: ctx.task,
      tool: tool.exposedName,
      ...(prepared.operation !== undefined ? { operation: prepared.operation } : {}),
      args: prepared.args,
      argsHash: canonicalHash(args),
      decision,
      signal: ctx.signal,
      askOnly: true,
      ...(ctx.justification !== undefined ? { justification: ctx.justification } : {}),
    });
    if ('granted' in outcome)
      return text(`${name} with these arguments is already approved (request ${outcome.granted.ticketId}).`);
    return errorResult(outcome.refused);
  }

  return { listTools, callTool, requestElevation, catalog: options.catalog };
}

/**
 * Propagation fields for the backend: the backend span's context when tracing records, otherwise the
 * agent's own `traceparent` passed through so its trace still reaches the backend.
 */
function backendMeta(agentMeta: Record<string, string>): Record<string, string> {
  const injected = injectTraceparent({} as Record<string, string>);
  const spanContext = trace.getSpanContext(otelContext.active());
  if (
    spanContext !== undefined &&
    trace.isSpanContextValid(spanContext) &&
    injected['traceparent'] !== undefined &&
    spanContext.traceFlags !== 0
  ) {
    return injected;
  }
  return { ...agentMeta };
}

function callOutcome(record: AuditRecordInput): 'ok' | 'tool_error' | 'denied' | 'error' | 'cancelled' {
  if (record.code === 'CANCELLED') return 'cancelled';
  if (record.decision === 'allow') return 'ok';
  if (record.decision === 'deny' || record.decision === 'approve') return 'denied';
  return record.code === undefined ? 'tool_error' : 'error';
}

function lazyFetch(build: () => FetchLike): FetchLike {
  let fetch: FetchLike | undefined;
  return (input, init) => (fetch ??= build())(input, init);
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
  return (connector) => ({
    signal: AbortSignal.timeout(30_000),
    fetch: withOutboundHygiene(egress.fetchFor({ connector: connector.id })),
  });
}

/** The audited reason a quarantined tool was refused (the agent only ever sees an unknown tool). */
function quarantineReason(tool: CatalogTool): string {
  const flags = tool.flags.length > 0 ? ` (flags: ${tool.flags.join(', ')})` : '';
  return tool.quarantine === 'new'
    ? `new tool held on first sight${flags}; quarantined until an operator approves it`
    : `tool definition changed${flags}; quarantined until an operator approves it`;
}

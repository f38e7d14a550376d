/**
 * Prometheus metrics for the gateway, on a registry of their own (never prom-client's global one), so
 * several gateways in one process (tests, embedding) do not share or clash over series.
 *
 * Cardinality: every label is either a closed enum (effect, outcome, result, reused) or a value bounded
 * by configuration (tool names of the catalog, rule ids, connector ids, error codes, auth methods,
 * credential kinds); a tool name an agent sends that the catalog does not have is labelled `unknown`.
 * Nothing per-agent, per-task, per-session or per-argument is ever a label. As a guard against
 * surprises, each label also stops accepting new values after `maxLabelValues` and counts the rest
 * under `other`.
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createBoundedLabel, type BoundedLabel } from './bounded-label.js';
import { createSeriesHistogram } from './series-histogram.js';

export type DecisionEffect = 'allow' | 'deny' | 'approve';
/** How a tool call ended, from the agent's point of view. */
export type ToolCallOutcome = 'ok' | 'tool_error' | 'denied' | 'error' | 'cancelled';
export type PipelineStepOutcome = 'next' | 'end' | 'suspend' | 'error';
export type ApprovalOutcome = 'approved' | 'denied' | 'expired';
export type PolicyReloadResult = 'ok' | 'error';
/** What needed the state store when it failed (a closed set, so it is a safe label). */
export type StoreOperation =
  'authenticate' | 'session' | 'task-state' | 'rate-limit' | 'labels' | 'credential' | 'approvals' | 'pipeline';

/**
 * Attributes of the OpenTelemetry MCP server metrics (`mcp.server.operation.duration`,
 * `mcp.server.session.duration`), exposed with the Prometheus names those conventions map to
 * (`mcp_server_operation_duration_seconds`, labels with `_` for `.`). Absent values are empty labels.
 */
export interface McpMetricAttributes {
  /** `mcp.method.name`: `tools/call`, `resources/read`, `prompts/get`, ... (operations only). */
  method?: string;
  /** `gen_ai.tool.name` (tool calls only). */
  tool?: string;
  /** `gen_ai.prompt.name` (prompts/get only). */
  prompt?: string;
  /** `error.type`: the stable error code, or `tool_error` for a tool result with `isError`. */
  errorType?: string;
  /** `mcp.protocol.version` negotiated on the session. */
  protocolVersion?: string;
  /** `network.transport`: `tcp` (Streamable HTTP) or `pipe` (stdio). */
  networkTransport?: string;
  /** `network.protocol.name`: `http` for Streamable HTTP. */
  networkProtocolName?: string;
}

export interface MetricsOptions {
  /** Prefix of every metric name. Default `portcullis_`. */
  prefix?: string;
  /** Also export Node.js process metrics (CPU, memory, event loop lag). Default false. */
  defaultMetrics?: boolean;
  /** Distinct values accepted per label before folding into `other`. Default 500. */
  maxLabelValues?: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** One count per decision; `rules` are joined (`a+b`), `(default)` when no rule matched (default deny). */
  recordDecision(effect: DecisionEffect, rules: readonly string[]): void;
  /**
   * Time the policy engine took to decide one call (a tool call, or a resource or prompt request). Its
   * buckets are fine enough to read a percentile against a bound in microseconds (`le="0.00005"` is 50 µs).
   */
  observePolicyEvaluation(seconds: number): void;
  /**
   * `tool` is labelled with its name only when `limitToolLabels` says it is a catalog tool, and as
   * `unknown` otherwise (agents choose the names they send).
   */
  observeToolCall(tool: string, outcome: ToolCallOutcome, seconds: number): void;
  /**
   * The catalog's tools (and prompts): only these names become label values (`tool`, `gen_ai_tool_name`,
   * `gen_ai_prompt_name`). Until set, every name is `unknown`.
   */
  limitToolLabels(isCatalogTool: (tool: string) => boolean, isCatalogPrompt?: (prompt: string) => boolean): void;
  /** Time spent in one pipeline step, by step and how the step ended. */
  observePipelineStep(step: string, outcome: PipelineStepOutcome, seconds: number): void;
  /** An audit record that could not be written (best-effort writes; the failure is logged too). */
  auditWriteFailed(event: string): void;
  /**
   * Where the audit file's figures are read at each scrape: records made durable and the synced writes
   * that made them, by the thread that wrote (`event_loop` inline, `pool` for libuv's thread pool).
   */
  countAuditWrites(read: () => AuditWriteCounts): void;
  upstreamError(connector: string, code: string): void;
  setApprovalsPending(count: number): void;
  addApprovalsPending(delta: number): void;
  /** Time from an approval request to the operator's decision (or expiry). */
  observeApprovalDecision(seconds: number, outcome: ApprovalOutcome): void;
  credentialMint(kind: string, reused: boolean): void;
  policyReload(result: PolicyReloadResult): void;
  authFailure(method: string): void;
  /** One MCP request handled by the pipeline (`mcp.server.operation.duration`). */
  observeMcpOperation(attributes: McpMetricAttributes, seconds: number): void;
  /** One MCP session, from open to close (`mcp.server.session.duration`). */
  observeMcpSession(attributes: McpMetricAttributes, seconds: number): void;
  /** A request refused because the state store could not answer, by what was being done. */
  storeUnavailable(operation: StoreOperation): void;
  /** The exposition text (Prometheus text format). */
  metricsText(): Promise<string>;
  /** Express handler serving the exposition, e.g. `app.get('/metrics', metrics.handler)`. */
  readonly handler: RequestHandler;
}

/** The audit file's running totals (the audit sink's `stats()`; metrics do not depend on the audit service). */
export interface AuditWriteCounts {
  records: number;
  syncs: number;
  inlineSyncs: number;
  /** Milliseconds the synced writes took (all, and the inline ones), and the records' summed waits. */
  syncMs: number;
  inlineSyncMs: number;
  durableWaitMs: number;
}

/** Label of calls naming a tool the catalog does not have. */
export const UNKNOWN_TOOL_LABEL = 'unknown';

/**
 * The request methods MCP defines, in the 2025 revisions and in 2026-07-28: only these become values of
 * `mcp_method_name`. An agent may send any method name (the SDK answers an unknown one with -32601); each
 * would otherwise be a series of its own, kept as long as the process lives.
 */
const MCP_REQUEST_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'completion/complete',
  'logging/setLevel',
  'prompts/get',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'tools/call',
  'tools/list',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'server/discover',
  'subscriptions/listen',
]);
/** `mcp_method_name` of a method MCP does not define (OpenTelemetry's name for a value outside the known set). */
export const OTHER_METHOD_LABEL = '_OTHER';

const methodNameLabel = (method: string | undefined): string =>
  method === undefined ? '' : MCP_REQUEST_METHODS.has(method) ? method : OTHER_METHOD_LABEL;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** The explicit bucket boundaries the MCP semantic conventions advise for `mcp.server.operation.duration`. */
const MCP_OPERATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
const MCP_SESSION_BUCKETS = [1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400];
const MCP_OPERATION_LABELS = [
  'mcp_method_name',
  'gen_ai_tool_name',
  'gen_ai_prompt_name',
  'error_type',
  'mcp_protocol_version',
  'network_transport',
  'network_protocol_name',
] as const;
const MCP_SESSION_LABELS = [
  'error_type',
  'mcp_protocol_version',
  'network_transport',
  'network_protocol_name',
] as const;
const APPROVAL_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400];
/** 2.5 µs to 10 ms: a decision takes microseconds, and a slow one should show which bound it crossed. */
export const POLICY_EVALUATION_BUCKETS = [
  0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01,
];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'portcullis_';
  const max = options.maxLabelValues ?? 500;
  const registry = new Registry();
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix });
  const bounded = (): BoundedLabel => createBoundedLabel(max);
  const ruleLabel = bounded();
  const toolLabel = bounded();
  const connectorLabel = bounded();
  const codeLabel = bounded();
  const kindLabel = bounded();
  const methodLabel = bounded();
  const eventLabel = bounded();

  const decisions = new Counter({
    name: `${prefix}decisions_total`,
    help: 'Policy decisions on tool calls, by effect and deciding rules',
    labelNames: ['effect', 'rule'] as const,
    registers: [registry],
  });
  const policyEvaluation = createSeriesHistogram({
    name: `${prefix}policy_evaluation_seconds`,
    help: 'Time the policy engine took to decide a call (tools, resources and prompts)',
    labelNames: [] as const,
    buckets: POLICY_EVALUATION_BUCKETS,
    registers: [registry],
  });
  const toolCallDuration = createSeriesHistogram({
    name: `${prefix}tool_call_duration_seconds`,
    help: 'Tool call latency through the gateway (decision, approval wait and backend), by tool and outcome',
    labelNames: ['tool', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const pipelineStepDuration = createSeriesHistogram({
    name: `${prefix}pipeline_step_duration_seconds`,
    help: 'Time spent in each step of the call pipeline, by step and outcome (next, end, suspend, error)',
    labelNames: ['step', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const auditWriteFailures = new Counter({
    name: `${prefix}audit_write_failures_total`,
    help: 'Audit records that could not be written, by event',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  // Read from the audit file at each scrape (its own running totals), so they cost the calls nothing.
  let readAuditWrites: (() => AuditWriteCounts) | undefined;
  /**
   * A counter of one of the audit file's running totals: one value, or, split by the thread that wrote, the
   * total and its inline part (`event_loop`; the rest `pool`).
   */
  const auditTotal = (
    name: string,
    help: string,
    read: (counts: AuditWriteCounts) => number | { all: number; inline: number },
  ): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      labelNames: ['thread'] as const,
      registers: [registry],
      collect() {
        if (readAuditWrites === undefined) return;
        const value = read(readAuditWrites());
        this.reset();
        if (typeof value === 'number') {
          this.inc(value);
          return;
        }
        this.inc({ thread: 'event_loop' }, value.inline);
        this.inc({ thread: 'pool' }, value.all - value.inline);
      },
    });
  };
  auditTotal('audit_records_durable_total', 'Audit records made durable in the audit file', (c) => c.records);
  auditTotal(
    'audit_synced_writes_total',
    'Synced writes of the audit file (records written together share one), by the thread that wrote',
    (c) => ({ all: c.syncs, inline: c.inlineSyncs }),
  );
  auditTotal(
    'audit_synced_write_seconds_total',
    'Time the synced writes of the audit file took as the event loop saw them, by the thread that wrote',
    (c) => ({ all: c.syncMs / 1000, inline: c.inlineSyncMs / 1000 }),
  );
  auditTotal(
    'audit_durable_wait_seconds_total',
    'Time audit records waited from their append until durable, summed over the records made durable',
    (c) => c.durableWaitMs / 1000,
  );
  const upstreamErrors = new Counter({
    name: `${prefix}upstream_errors_total`,
    help: 'Backend failures, by connector and error code',
    labelNames: ['connector', 'code'] as const,
    registers: [registry],
  });
  const approvalsPending = new Gauge({
    name: `${prefix}approvals_pending`,
    help: 'Approval requests waiting for an operator',
    registers: [registry],
  });
  const approvalDecision = new Histogram({
    name: `${prefix}approval_decision_seconds`,
    help: 'Time from approval request to decision or expiry',
    labelNames: ['outcome'] as const,
    buckets: APPROVAL_BUCKETS,
    registers: [registry],
  });
  const credentialMints = new Counter({
    name: `${prefix}credential_mints_total`,
    help: 'Call credentials handed to backends, by kind and whether a cached one was reused',
    labelNames: ['kind', 'reused'] as const,
    registers: [registry],
  });
  const policyReloads = new Counter({
    name: `${prefix}policy_reloads_total`,
    help: 'Policy reloads, by result (a failed reload keeps the last good policy)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: `${prefix}auth_failures_total`,
    help: 'Rejected authentication attempts, by method',
    labelNames: ['method'] as const,
    registers: [registry],
  });

  // Named by the OpenTelemetry MCP conventions, so they carry no gateway prefix.
  const mcpOperationDuration = createSeriesHistogram({
    name: 'mcp_server_operation_duration_seconds',
    help: 'MCP request duration as observed on the server (mcp.server.operation.duration)',
    labelNames: MCP_OPERATION_LABELS,
    buckets: MCP_OPERATION_BUCKETS,
    registers: [registry],
  });
  const mcpSessionDuration = new Histogram({
    name: 'mcp_server_session_duration_seconds',
    help: 'MCP session duration as observed on the server (mcp.server.session.duration)',
    labelNames: MCP_SESSION_LABELS,
    buckets: MCP_SESSION_BUCKETS,
    registers: [registry],
  });
  const versionLabel = bounded();
  const errorTypeLabel = bounded();
  const promptLabel = bounded();
  const sessionLabels = (a: McpMetricAttributes) => ({
    error_type: a.errorType === undefined ? '' : errorTypeLabel(a.errorType),
    mcp_protocol_version: a.protocolVersion === undefined ? '' : versionLabel(a.protocolVersion),
    network_transport: a.networkTransport ?? '',
    network_protocol_name: a.networkProtocolName ?? '',
  });
  const storeUnavailable = new Counter({
    name: `${prefix}store_unavailable_total`,
    help: 'Requests refused with STORE_UNAVAILABLE because the state store could not answer, by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  // Observed on every call, several times a call: series resolved once per label set (series-histogram.ts).
  const toolCallSeries = toolCallDuration.series;
  const pipelineStepSeries = pipelineStepDuration.series;
  const mcpOperationSeries = mcpOperationDuration.series;

  const metricsText = (): Promise<string> => registry.metrics();
  let isCatalogTool: (tool: string) => boolean = () => false;
  let isCatalogPrompt: (prompt: string) => boolean = () => false;
  // Agents choose the names they send: a name becomes a label value only when the catalog knows it.
  const catalogToolLabel = (tool: string): string => (isCatalogTool(tool) ? toolLabel(tool) : UNKNOWN_TOOL_LABEL);
  const catalogPromptLabel = (prompt: string): string =>
    isCatalogPrompt(prompt) ? promptLabel(prompt) : UNKNOWN_TOOL_LABEL;

  return {
    registry,
    recordDecision(effect, rules) {
      const rule = rules.length === 0 ? '(default)' : [...rules].sort().join('+');
      decisions.inc({ effect, rule: ruleLabel(rule) });
    },
    observePolicyEvaluation(seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) policyEvaluation.series({}).observe(seconds);
    },
    observeToolCall(tool, outcome, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0)
        toolCallSeries({ tool: catalogToolLabel(tool), outcome }).observe(seconds);
    },
    limitToolLabels(toolPredicate, promptPredicate) {
      isCatalogTool = toolPredicate;
      if (promptPredicate !== undefined) isCatalogPrompt = promptPredicate;
    },
    observePipelineStep(step, outcome, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) pipelineStepSeries({ step, outcome }).observe(seconds);
    },
    auditWriteFailed(event) {
      auditWriteFailures.inc({ event: eventLabel(event) });
    },
    countAuditWrites(read) {
      readAuditWrites = read;
    },
    upstreamError(connector, code) {
      upstreamErrors.inc({ connector: connectorLabel(connector), code: codeLabel(code) });
    },
    setApprovalsPending(count) {
      approvalsPending.set(count);
    },
    addApprovalsPending(delta) {
      approvalsPending.inc(delta);
    },
    observeApprovalDecision(seconds, outcome) {
      if (Number.isFinite(seconds) && seconds >= 0) approvalDecision.observe({ outcome }, seconds);
    },
    credentialMint(kind, reused) {
      credentialMints.inc({ kind: kindLabel(kind), reused: reused ? 'true' : 'false' });
    },
    policyReload(result) {
      policyReloads.inc({ result });
    },
    authFailure(method) {
      authFailures.inc({ method: methodLabel(method) });
    },
    observeMcpOperation(attributes, seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      mcpOperationSeries({
        ...sessionLabels(attributes),
        mcp_method_name: methodNameLabel(attributes.method),
        gen_ai_tool_name: attributes.tool === undefined ? '' : catalogToolLabel(attributes.tool),
        gen_ai_prompt_name: attributes.prompt === undefined ? '' : catalogPromptLabel(attributes.prompt),
      }).observe(seconds);
    },
    observeMcpSession(attributes, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) mcpSessionDuration.observe(sessionLabels(attributes), seconds);
    },
    storeUnavailable(operation) {
      storeUnavailable.inc({ operation });
    },
    metricsText,
    handler: async (_req, res) => {
      try {
        const text = await metricsText();
        res.setHeader('Content-Type', registry.contentType);
        res.end(text);
      } catch {
        res.status(500).type('text/plain').end('metrics unavailable\n');
      }
    },
  };
}

/**
 * The state one pipeline run works on. The edge creates it from the agent's request; each step reads what
 * earlier steps established and adds its own part; the record steps turn it into audit records. Nothing
 * outside the steps mutates it, and nothing in it is a secret (credentials stay inside their injector).
 */
import type { Context, Span } from '@opentelemetry/api';
import type {
  Connector,
  InputRequestChannel,
  JsonObject,
  LogMessage,
  PreparedCall,
  ProgressUpdate,
  ToolResult,
} from '../../connectors/contract.js';
import type { CallDecision } from '../../policies/engine.js';
import type { TaskFacts } from '../../policies/types.js';
import type { GatewayError, Principal } from '../kernel/index.js';
import type { AuditRecordInput } from '../services/audit/index.js';
import type { CatalogTool } from '../services/catalog/index.js';
import type { CredentialInjector } from '../services/credentials/index.js';

/** What the agent asked for; each operation has its own list of steps. */
export type Operation =
  'tools/call' | 'elevation/request' | 'resources/read' | 'resources/subscribe' | 'prompts/get' | 'completion/complete';

/**
 * How the agent is connected, as the MCP semantic conventions describe it: Streamable HTTP is
 * `network.transport=tcp` with `network.protocol.name=http`, stdio is `network.transport=pipe`.
 */
export interface McpConnection {
  /** `mcp.protocol.version` negotiated at initialize; unknown before initialize completed. */
  protocolVersion?: string;
  transport: 'tcp' | 'pipe';
  protocolName?: 'http';
  /** `network.protocol.version`, e.g. `1.1` for HTTP/1.1. */
  networkProtocolVersion?: string;
}

/** The agent-side context of a call, filled in by the edge. */
export interface CallContext {
  principal: Principal;
  task: TaskFacts;
  /**
   * True when the edge read `task` from the store, live, while serving this very request, or created it
   * for it (a 2026-07-28 request resolves its task before its call runs): the task step does not read it
   * again. Never set for a context that outlives its request (a 2025 session's, a run after an approval).
   */
  taskReadLive?: boolean;
  sessionId?: string;
  connection?: McpConnection;
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
  /** Requests from the backend that only the agent can answer (sampling, elicitation, roots). */
  inputRequests?: InputRequestChannel;
  /**
   * A call that needs approval files its request and answers APPROVAL_PENDING at once, whatever the
   * approval mode: the edge follows the request itself (approvals as tasks of 2026-07-28 agents).
   */
  deferApproval?: boolean;
}

/** What the run resolved the request to. */
export type Target =
  | { kind: 'tool'; tool: CatalogTool }
  | { kind: 'resource'; connector: Connector; uri: string }
  | { kind: 'prompt'; connector: Connector; exposedName: string; name: string };

/** Where and why a run stopped before its end; resuming runs the same list again from `step`. */
export interface ResumePoint {
  step: string;
  reason: 'approval-pending' | 'input-required';
  /** What the agent is told meanwhile (APPROVAL_PENDING, INPUT_REQUIRED). */
  error: GatewayError;
  approvalId?: string;
}

/** How a run ended: every step ran, a step ended it with an error, or a step suspended it. */
export type RunOutcome =
  | { status: 'completed' }
  | { status: 'ended'; step: string; endsAs: 'deny' | 'approve' | 'error'; error: GatewayError }
  | { status: 'suspended'; resume: ResumePoint };

export interface CallState {
  readonly operation: Operation;
  /** What the agent named: the exposed tool or prompt name, or the resource URI. */
  readonly name: string;
  readonly args: JsonObject;
  readonly ctx: CallContext;
  /** The run's own span (`tools/call {tool}`, `resources/read`, ...). */
  readonly span: Span;
  /** performance.now() when the run started. */
  readonly started: number;
  /** The audit record the record steps write; steps fill in what they establish. */
  readonly record: AuditRecordInput;
  /** The task as the store knows it now (labels read so far), else as the credential said. */
  task: TaskFacts;
  target?: Target;
  prepared?: PreparedCall;
  decision?: CallDecision;
  /** The call runs under an operator's grant. */
  elevated: boolean;
  credential?: { inject?: CredentialInjector; jti?: string };
  /**
   * Gives back the connector slot the admit step took; the closing release-slot step calls it and sets it
   * back to undefined (not `delete`: deleting a member turns the state into a slow dictionary object).
   */
  releaseSlot?: (() => void) | undefined;
  /** The decision record is durable; from here on the run ends with an outcome record. */
  intentRecorded: boolean;
  /**
   * The decision refused the request and the run answered without contacting the backend (a completion for
   * an item that is denied or needs approval gets empty completions); recorded with the decision's effect.
   */
  withheld?: boolean;
  /** What the backend returned (a tool result, resource contents, a prompt, completions). */
  result?: JsonObject | ToolResult;
  /** Set by the runner before the closing steps run. */
  outcome?: RunOutcome;
}

/** The target as a tool; steps of tool lists run only after resolve established it. */
export function toolOf(state: CallState): CatalogTool {
  if (state.target?.kind !== 'tool') throw new Error(`step needs a resolved tool (operation ${state.operation})`);
  return state.target.tool;
}

export function connectorOf(state: CallState): Connector {
  if (state.target === undefined) throw new Error(`step needs a resolved target (operation ${state.operation})`);
  return state.target.kind === 'tool' ? state.target.tool.connector : state.target.connector;
}

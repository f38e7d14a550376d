/**
 * invoke: the one step that contacts a backend. The connector gets a context whose `fetch` is the egress
 * guard behind outbound hygiene and the call's credential, whose signal carries the caller's cancellation
 * and the call deadline, and whose `meta` carries the backend span's `traceparent`. A fault behind the
 * gateway is never reported as the caller's fault.
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, context as otelContext, trace } from '@opentelemetry/api';
import type { ConnectorContext, FetchLike, JsonObject, ToolResult } from '../../../connectors/contract.js';
import { CALLER_ERROR_CODES, GatewayError, toGatewayError } from '../../kernel/index.js';
import { withCallCredential, withOutboundHygiene } from '../../services/credentials/index.js';
import type { Metrics } from '../../services/metrics/index.js';
import {
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_MCP_METHOD_NAME,
  injectTraceparent,
  spanNames,
} from '../../services/telemetry/index.js';
import { callDeadline } from '../call-deadline.js';
import { connectorOf, type CallState } from '../call-state.js';
import type { EgressProvider } from '../egress.js';
import type { Step } from '../step.js';

export interface InvokeOptions {
  egress: EgressProvider;
  metrics?: Metrics;
  /** Upper bound for one call, whatever the connector's own timeouts. */
  callTimeoutMs: number;
  onError?: (error: unknown, where: string) => void;
}

export function invokeStep(options: InvokeOptions): Step {
  return {
    name: 'invoke',
    endsAs: 'error',
    span: { name: spanNames.backend, kind: SpanKind.CLIENT, attributes: backendAttributes },
    async run(state) {
      const connector = connectorOf(state);
      const deadline = callDeadline(state.ctx.signal, options.callTimeoutMs);
      const context = connectorContext(state, options.egress, deadline.signal);
      try {
        state.result = await send(state, context);
      } catch (error) {
        let gatewayError = toGatewayError(error);
        if (deadline.timedOut() && !state.ctx.signal.aborted)
          gatewayError = new GatewayError('UPSTREAM_TIMEOUT', 'the call exceeded its deadline');
        if (gatewayError.code === 'INTERNAL') options.onError?.(error, `${state.operation} ${state.name}`);
        if (CALLER_ERROR_CODES.has(gatewayError.code) && gatewayError.code !== 'INVALID_ARGUMENTS') {
          gatewayError = new GatewayError('UPSTREAM_ERROR', gatewayError.message);
        }
        // Neither a refused destination nor an upstream asking the agent for input is an upstream fault.
        if (gatewayError.code !== 'EGRESS_DENIED' && gatewayError.code !== 'INPUT_REQUIRED')
          options.metrics?.upstreamError(connector.id, gatewayError.code);
        return { end: gatewayError };
      } finally {
        deadline.dispose();
      }
      const upstreamCode = upstreamErrorCode(state);
      if (upstreamCode !== undefined) options.metrics?.upstreamError(connector.id, upstreamCode);
      return undefined;
    },
  };
}

async function send(state: CallState, context: ConnectorContext): Promise<JsonObject | ToolResult> {
  const target = state.target!;
  if (target.kind === 'tool') {
    const prepared = state.prepared!;
    return withCallCredential(state.credential?.inject, () => target.tool.connector.callTool(prepared, context));
  }
  const catalog = target.connector.catalog;
  if (catalog === undefined)
    throw new GatewayError('NOT_SUPPORTED', `${target.connector.id} serves no ${state.operation}`);
  switch (state.operation) {
    case 'resources/read':
      if (target.kind !== 'resource') break;
      return catalog.readResource(target.uri, context);
    case 'resources/subscribe':
      if (target.kind !== 'resource') break;
      if (catalog.subscribeResource === undefined)
        throw new GatewayError('NOT_SUPPORTED', 'subscriptions not supported for this resource');
      await catalog.subscribeResource(target.uri, context);
      return {};
    case 'prompts/get':
      if (target.kind !== 'prompt') break;
      return catalog.getPrompt(target.name, state.args as Record<string, string>, context);
    case 'completion/complete': {
      if (catalog.complete === undefined) break;
      const ref = state.args['ref'] as JsonObject;
      // The upstream knows its prompts by their own names, not by the gateway's exposed ones.
      const params = target.kind === 'prompt' ? { ...state.args, ref: { ...ref, name: target.name } } : state.args;
      return catalog.complete(params, context);
    }
    default:
      break;
  }
  throw new Error(`invoke cannot run ${state.operation} on a ${target.kind}`);
}

/** The tool result's own error code, when an upstream reported a fault in it. */
export function upstreamErrorCode(state: CallState): string | undefined {
  if (state.operation !== 'tools/call') return undefined;
  const result = state.result as ToolResult | undefined;
  const code = result?.isError === true ? result._meta?.['portcullis/code'] : undefined;
  return typeof code === 'string' ? code : undefined;
}

function connectorContext(state: CallState, egress: EgressProvider, signal: AbortSignal): ConnectorContext {
  const connector = connectorOf(state);
  const tool = state.target?.kind === 'tool' ? state.target.tool.exposedName : undefined;
  return {
    callId: state.record.callId ?? randomUUID(),
    signal,
    // Built on first use: MCP connectors never fetch per call, HTTP connectors once.
    fetch: lazyFetch(() =>
      withOutboundHygiene(
        egress.fetchFor({
          connector: connector.id,
          ...(tool !== undefined ? { tool } : {}),
          principal: state.ctx.principal,
          task: state.ctx.task,
        }),
        state.credential?.inject,
      ),
    ),
    meta: backendMeta(state.ctx.meta),
    ...(state.ctx.onProgress !== undefined ? { onProgress: state.ctx.onProgress } : {}),
    ...(state.ctx.onLog !== undefined ? { onLog: state.ctx.onLog } : {}),
    ...(state.ctx.inputRequests !== undefined ? { inputRequests: state.ctx.inputRequests } : {}),
  };
}

function backendAttributes(state: CallState): Record<string, unknown> {
  const connector = connectorOf(state);
  const operation = state.prepared?.operation;
  if (operation !== undefined) {
    return {
      'portcullis.connector': connector.id,
      'http.request.method': operation.method,
      'server.address': operation.host,
      'server.port': operation.port,
      'url.path': operation.path,
    };
  }
  return {
    'portcullis.connector': connector.id,
    [ATTR_MCP_METHOD_NAME]: state.operation,
    ...(state.target?.kind === 'tool' ? { [ATTR_GEN_AI_TOOL_NAME]: state.target.tool.descriptor.name } : {}),
  };
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

function lazyFetch(build: () => FetchLike): FetchLike {
  let fetch: FetchLike | undefined;
  return (input, init) => (fetch ??= build())(input, init);
}

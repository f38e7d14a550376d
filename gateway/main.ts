/**
 * The composition root: the gateway's two front doors. Each opens every part (compose.ts: environment,
 * OpenTelemetry SDK, stores, services, pipeline) and hands them to its edge: the HTTP server, or one MCP
 * session on stdio. Nothing here decides anything; everything opened is closed in reverse order.
 */
import { compose, type Closer, type StartOptions } from './compose.js';
import { createHttpServer, closeServer, listenOn } from './edges/server/index.js';
import { connectionMetricAttributes, principalForStdio, serveStdio } from './edges/mcp/index.js';
import { VERSION, type Drain, type Logger } from './kernel/index.js';
import type { Pipeline } from './pipeline/index.js';
import type { AuditSink } from './services/audit/index.js';
import type { Catalog } from './services/catalog/index.js';
import type { Stores } from './stores/index.js';

export { VERSION, type StartOptions };

export interface RunningGateway {
  baseUrl: string; // `http://host:port`
  mcpUrl: string; // `http://host:port/mcp`
  /** `http://host:port/metrics` of the separate metrics listener, when `metrics.listen` is configured. */
  metricsUrl?: string;
  pipeline: Pipeline;
  catalog: Catalog;
  audit: AuditSink;
  stores: Stores;
  close(): Promise<void>;
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { config } = options.loaded;
  const closers: Closer[] = [];
  try {
    // Listen first: the gateway's URL is the issuer of its tokens and must be known before anything is minted.
    // Until the app is attached, requests get 503 with Retry-After (never a connection that hangs).
    const { server, baseUrl, attach } = await listenOn(config.listen.host, config.listen.port, {
      requestTimeoutSeconds: config.http.requestTimeoutSeconds,
    });
    closers.push(() => closeServer(server));
    const core = await compose({ ...options, baseUrl: options.baseUrl ?? config.http.publicUrl ?? baseUrl }, closers);
    const http = await createHttpServer({
      ...core,
      revocation: core.stores.revocation,
      tasks: core.stores.tasks,
      publicUrl: config.http.publicUrl ?? baseUrl,
    });
    closers.push(() => http.close());
    attach(http.app);
    const { pipeline, catalog, audit, stores, drain, logger } = core;
    const drainMs = config.shutdown.drainSeconds * 1000;
    return {
      baseUrl,
      mcpUrl: `${baseUrl}/mcp`,
      ...(http.metricsUrl !== undefined ? { metricsUrl: http.metricsUrl } : {}),
      ...{ pipeline, catalog, audit, stores },
      close: async () => {
        await drainCalls(drain, drainMs, logger);
        await closeAll(closers);
      },
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** stdio front door: a desktop MCP client launches the gateway as a child process (see edges/mcp/stdio.ts). */
export async function startStdioGateway(
  options: StartOptions & { agentId?: string },
): Promise<{ close(): Promise<void> }> {
  // stdout carries the MCP stdio transport; audit records there would corrupt it.
  if (options.loaded.config.audit.export === 'stdout')
    throw new Error('audit.export: stdout cannot be used with the stdio front door (stdout carries MCP)');
  const closers: Closer[] = [];
  try {
    const core = await compose(options, closers);
    const principal = await principalForStdio(core.apiKeyAgents, options.agentId, core.stores.revocation);
    const session = await serveStdio({
      ...core,
      principal,
      taskForSession: core.sessionTasks.taskForSession,
      serverInfo: { name: 'portcullis', version: VERSION },
      elevationTool: core.config.approvals.offerRequestTool,
      operationMetrics: core.metrics,
      onSessionClosed: (session) =>
        core.metrics.observeMcpSession(
          connectionMetricAttributes(session.connection),
          (performance.now() - session.openedAt) / 1000,
        ),
    });
    closers.push(() => session.close());
    return { close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** After the drain time, cancelled calls get this long to send their SHUTTING_DOWN answers and audit them. */
const CANCEL_GRACE_MS = 5_000;

/**
 * Graceful drain (docs/operations.md#shutdown): readiness fails and new sessions and calls are refused at
 * once; calls in flight get `drainMs` to finish; the rest are cancelled, each answered to its agent with
 * SHUTTING_DOWN and audited, before anything is closed.
 */
async function drainCalls(drain: Drain, drainMs: number, logger: Logger): Promise<void> {
  if (drain.draining) return;
  drain.begin();
  const started = performance.now();
  const inFlight = drain.inFlight();
  const finished = await drain.settle(drainMs);
  const cancelled = finished ? 0 : drain.inFlight();
  if (!finished) {
    drain.cancel();
    await drain.settle(CANCEL_GRACE_MS);
  }
  logger.info(
    { inFlight, cancelled, drainMs: Math.round(performance.now() - started) },
    finished ? 'drained: every call in flight finished' : 'drained: calls still running were cancelled',
  );
}

async function closeAll(closers: Closer[]): Promise<void> {
  for (let close = closers.pop(); close !== undefined; close = closers.pop()) await close().catch(() => undefined);
}

/**
 * The composition root: the gateway's two front doors. Each opens every part (compose.ts: environment,
 * OpenTelemetry SDK, stores, services, pipeline) and hands them to its edge: the HTTP server, or one MCP
 * session on stdio. Nothing here decides anything; everything opened is closed in reverse order.
 */
import { compose, type StartOptions } from './compose.js';
import { createHttpServer, closeServer, listenOn, serveStdioSession } from './edges/server/index.js';
import { drainCalls, openAll, VERSION } from './kernel/index.js';
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
  return openAll(async (closers) => {
    // Listen first: the gateway's URL is the issuer of its tokens and must be known before anything is minted.
    // Until the app is attached, requests get 503 with Retry-After (never a connection that hangs).
    const { server, baseUrl, attach } = await listenOn(config.listen.host, config.listen.port, {
      requestTimeoutSeconds: config.http.requestTimeoutSeconds,
    });
    closers.push(() => closeServer(server));
    const core = await compose({ ...options, baseUrl: options.baseUrl ?? config.http.publicUrl ?? baseUrl }, closers);
    const http = await createHttpServer({ ...core, publicUrl: config.http.publicUrl ?? baseUrl });
    closers.push(() => http.close());
    attach(http.listener);
    // Closers run last-in first-out: the drain (readiness fails, calls finish or are cancelled) comes first.
    closers.push(() => drainCalls(core.drain, config.shutdown.drainSeconds * 1000, core.logger));
    const { pipeline, catalog, audit, stores } = core;
    const metricsUrl = http.metricsUrl !== undefined ? { metricsUrl: http.metricsUrl } : {};
    return { baseUrl, mcpUrl: `${baseUrl}/mcp`, ...metricsUrl, pipeline, catalog, audit, stores };
  });
}

/** stdio front door: a desktop MCP client launches the gateway as a child process (see edges/mcp/stdio.ts). */
export async function startStdioGateway(
  options: StartOptions & { agentId?: string },
): Promise<{ close(): Promise<void> }> {
  // stdout carries the MCP stdio transport; audit records there would corrupt it.
  if (options.loaded.config.audit.export === 'stdout')
    throw new Error('audit.export: stdout cannot be used with the stdio front door (stdout carries MCP)');
  return openAll(async (closers) => {
    const session = await serveStdioSession(await compose(options, closers), options.agentId);
    closers.push(() => session.close());
    return {};
  });
}

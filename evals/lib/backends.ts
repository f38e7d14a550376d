/**
 * Start the fixture backends a setup names, each a real server on 127.0.0.1 port 0, behind one uniform
 * view of what reached it, so expectations read the same whatever the backend kind.
 */
import { startHttpBackend } from '../../test/fixtures/http-backend.js';
import { startScriptedBackend, type ScriptedRoute } from '../../test/fixtures/eval-scripted-backend.js';
import {
  startScriptedMcpUpstream,
  type ScriptedMcpUpstream,
  type ScriptedTool,
} from '../../test/fixtures/eval-mcp-upstream.js';
import type { BackendSpec } from './schema.js';
import { fill, type TemplateVars } from './template.js';

/** One thing a backend received: an HTTP request, or a tool call for an upstream MCP server. */
export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  tool?: string;
}

export interface RunningBackend {
  name: string;
  kind: BackendSpec['kind'];
  url: string;
  port: number;
  /** What reached the backend so far, oldest first (tool calls for MCP upstreams). */
  received(): readonly Received[];
  /** Every raw HTTP request's headers, for "never saw" checks (MCP upstreams: listings too). */
  rawHeaders(): readonly Record<string, string | string[] | undefined>[];
  /** MCP upstreams only: replace the tool definitions. */
  setTools?(tools: readonly ScriptedTool[]): void;
  close(): Promise<void>;
}

/** Placeholders every backend gets: url (with trailing slash for REST, /mcp for MCP), port, host. */
export function backendVars(backends: readonly RunningBackend[]): TemplateVars {
  const vars: TemplateVars = {};
  for (const b of backends) {
    vars[`backends.${b.name}.url`] = b.url;
    vars[`backends.${b.name}.port`] = String(b.port);
    vars[`backends.${b.name}.host`] = new URL(b.url).host;
  }
  return vars;
}

export async function startBackends(specs: Record<string, BackendSpec>): Promise<RunningBackend[]> {
  const started: RunningBackend[] = [];
  try {
    // Scripted routes may point at other backends (a redirect to an inward service): start the plain ones
    // first, then fill the scripted routes with their addresses.
    const entries = Object.entries(specs).sort(
      ([, a], [, b]) => Number(a.kind === 'scripted-http') - Number(b.kind === 'scripted-http'),
    );
    for (const [name, spec] of entries) {
      if (spec.kind === 'http-fixture') {
        const backend = await startHttpBackend();
        started.push({
          name,
          kind: spec.kind,
          url: backend.url,
          port: backend.port,
          received: () =>
            backend.requests.map((r) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body })),
          rawHeaders: () => backend.requests.map((r) => r.headers),
          close: () => backend.close(),
        });
      } else if (spec.kind === 'scripted-http') {
        const routes = fill(spec.routes, backendVars(started)) as ScriptedRoute[];
        const backend = await startScriptedBackend(routes, spec.host !== undefined ? { host: spec.host } : {});
        started.push({
          name,
          kind: spec.kind,
          url: backend.url,
          port: backend.port,
          received: () =>
            backend.requests.map((r) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body })),
          rawHeaders: () => backend.requests.map((r) => r.headers),
          close: () => backend.close(),
        });
      } else {
        const upstream: ScriptedMcpUpstream = await startScriptedMcpUpstream(
          spec.tools as ScriptedTool[],
          spec.host !== undefined ? { host: spec.host } : {},
        );
        started.push({
          name,
          kind: spec.kind,
          url: upstream.url,
          port: Number(new URL(upstream.url).port),
          received: () =>
            upstream.calls.map((c) => ({
              method: 'tools/call',
              url: c.name,
              headers: {},
              body: JSON.stringify(c.args),
              tool: c.name,
            })),
          rawHeaders: () => upstream.requests.map((r) => r.headers),
          setTools: (tools) => upstream.setTools(tools),
          close: () => upstream.close(),
        });
      }
    }
    return started;
  } catch (error) {
    await Promise.all(started.map((b) => b.close().catch(() => undefined)));
    throw error;
  }
}

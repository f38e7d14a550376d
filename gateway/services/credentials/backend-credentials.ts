/**
 * Step 5 of the pipeline (credential): what a backend receives to authenticate the gateway's request.
 *
 * - `jwt`: a just-in-time call credential: one audience (the backend), one operation (`METHOD /path` or
 *   `tool:name`), the task, a short TTL that never outlives the task, reused per (task, audience, scope)
 *   until shortly before expiry so signing stays off the hot path.
 * - `bearer` / `header` / `basic`: a static secret from the gateway's secret references, for backends that
 *   cannot verify JWTs. It is injected here and nowhere else; the agent never sees it.
 *
 * Upstream MCP servers over HTTP share one connection for all agents, so their per-call credential travels
 * through an async context: the connector's fetch picks up the credential of the call it runs for.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type BackendCredentialConfig, resolveSecretRef, type Environment } from '../../config/index.js';
import { appendBestEffort, type AuditSink } from '../audit/index.js';
import type { Metrics } from '../metrics/index.js';
import type { FetchLike } from '../../../connectors/contract.js';
import { withOutboundHygiene, type CredentialInjector } from './outbound.js';
import type { TaskFacts } from '../../../policies/types.js';
import type { Principal, Secret } from '../../kernel/index.js';
import type { CatalogTool } from '../catalog/index.js';
import type { CredentialIssuer } from './issuer.js';

const callInjector = new AsyncLocalStorage<CredentialInjector | undefined>();

/**
 * Run `fn` with the call's credential available to fetches made on its behalf (MCP upstream transport).
 * A call without a credential of its own runs with none, so it never inherits the credential of a call
 * whose context it happens to run in.
 */
export function withCallCredential<T>(inject: CredentialInjector | undefined, fn: () => Promise<T>): Promise<T> {
  return callInjector.run(inject, fn);
}

/** Injector for a long-lived connection: the current call's credential, else the connector's static one. */
export function contextualInjector(fallback?: CredentialInjector): CredentialInjector {
  return (headers, request) => {
    const current = callInjector.getStore() ?? fallback;
    return current?.(headers, request);
  };
}

/** Sets the backend credential for one allowed call (JIT call credential or injected static secret). */
export type CredentialProvider = (input: {
  principal: Principal;
  task: TaskFacts;
  tool: CatalogTool;
  operation?: { method: string; path: string };
  elevated: boolean;
}) => Promise<{ inject?: CredentialInjector; jti?: string }>;

type Resolved = { type: 'jwt'; audience: string } | { type: 'static'; inject: CredentialInjector };

export interface BackendCredentials {
  provider: CredentialProvider;
  /** Static injector for a connector's connection-level requests (listing), if it has a static secret. */
  staticInjector(connectorId: string): CredentialInjector | undefined;
  /**
   * The fetch of a connector's one long-lived connection, shared by every agent (upstream MCP servers):
   * outbound hygiene, then the current call's credential (from its context), else the connector's static one.
   */
  upstreamFetch(connectorId: string, fetch: FetchLike): FetchLike;
}

export async function createBackendCredentials(options: {
  config: Readonly<Record<string, BackendCredentialConfig>>;
  issuer: CredentialIssuer;
  env: Environment;
  baseDir: string;
  tasksExpiry: (taskId: string) => Promise<number | undefined>;
  /** Checked when a cached credential is reused: one revoked on another instance is not handed out again. */
  isJtiRevoked?: (jti: string) => Promise<boolean>;
  audit?: AuditSink;
  metrics?: Metrics;
}): Promise<BackendCredentials> {
  const resolved = new Map<string, Resolved>();
  const secret = (ref: string): Promise<Secret> =>
    resolveSecretRef(ref, { env: options.env, baseDir: options.baseDir });
  for (const [connectorId, entry] of Object.entries(options.config)) {
    switch (entry.type) {
      case 'jwt':
        resolved.set(connectorId, { type: 'jwt', audience: entry.audience });
        break;
      case 'bearer': {
        const value = await secret(entry.secret);
        resolved.set(connectorId, {
          type: 'static',
          inject: (headers) => headers.set('authorization', `Bearer ${value.reveal()}`),
        });
        break;
      }
      case 'header': {
        const value = await secret(entry.secret);
        const name = entry.name; // Headers compares names case-insensitively
        resolved.set(connectorId, { type: 'static', inject: (headers) => headers.set(name, value.reveal()) });
        break;
      }
      case 'basic': {
        const password = await secret(entry.password);
        const username = entry.username;
        resolved.set(connectorId, {
          type: 'static',
          inject: (headers) =>
            headers.set('authorization', `Basic ${Buffer.from(`${username}:${password.reveal()}`).toString('base64')}`),
        });
        break;
      }
    }
  }

  const provider: CredentialProvider = async ({ principal, task, tool, operation, elevated }) => {
    const entry = resolved.get(tool.connector.id);
    if (entry === undefined) return {};
    if (entry.type === 'static') return { inject: entry.inject };
    const scope = operation !== undefined ? `${operation.method} ${operation.path}` : `tool:${tool.descriptor.name}`;
    const notAfter = await options.tasksExpiry(task.id);
    const mint = () =>
      options.issuer.mintCallCredential({
        taskId: task.id,
        agentId: principal.agentId,
        audience: entry.audience,
        scope,
        elevated,
        ...(principal.onBehalfOf !== undefined ? { onBehalfOf: principal.onBehalfOf } : {}),
        ...(notAfter !== undefined ? { notAfter } : {}),
      });
    let minted = await mint();
    if (minted.reused && options.isJtiRevoked !== undefined && (await options.isJtiRevoked(minted.jti))) {
      options.issuer.forgetCredential(minted.jti);
      minted = await mint();
    }
    options.metrics?.credentialMint('call', minted.reused);
    if (!minted.reused) {
      void appendBestEffort(options.audit, {
        event: 'credential.mint',
        agentId: principal.agentId,
        taskId: task.id,
        tool: tool.exposedName,
        target: entry.audience,
        jti: minted.jti,
        detail: { scope, elevated },
      });
    }
    const token = minted.token;
    return { jti: minted.jti, inject: (headers) => headers.set('authorization', `Bearer ${token.reveal()}`) };
  };

  const staticInjector = (connectorId: string): CredentialInjector | undefined => {
    const entry = resolved.get(connectorId);
    return entry?.type === 'static' ? entry.inject : undefined;
  };
  return {
    provider,
    staticInjector,
    upstreamFetch: (connectorId, fetch) => withOutboundHygiene(fetch, contextualInjector(staticInjector(connectorId))),
  };
}

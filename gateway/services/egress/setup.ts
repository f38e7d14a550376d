/**
 * The gateway's egress, composed once: every outbound request the gateway makes gets one egress decision.
 *
 * - Connectors: HTTP connectors through a guard with the configured whole-exchange deadline and body cap;
 *   upstream MCP servers through a guard without them (their event streams stay open; the MCP connector
 *   bounds each exchange and message itself). Both decide with the policy, per scope (connector, tool,
 *   agent, task).
 * - The gateway's own requests (approvals webhook, OAuth JWKS) through a guard of their own, decided by
 *   their own rule set, never by the connectors' rules.
 *
 * Every denial is reported through `onDenied` (logged and audited as EGRESS_DENIED by the gateway).
 */
import type { FetchLike } from '../../../connectors/contract.js';
import type { Decision, EgressFacts } from '../../../policies/types.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/index.js';
import type { AuditSink } from '../audit/index.js';
import { compileGatewayDestinations, type PolicyStore } from '../policy/index.js';
import { egressDenialRecorder } from './denial-recorder.js';
import type { EgressDenial } from './errors.js';
import { createEgressGuard, type EgressScope } from './guard.js';

export interface GatewayEgressOptions {
  /** The policy's egress decision, for connector traffic. */
  decideConnector: (facts: EgressFacts) => Decision;
  /** The decision for the gateway's own requests, from their own rule set. */
  decideGateway: (facts: EgressFacts) => Decision;
  /** Connectors that are upstream MCP servers. */
  mcpConnectors: ReadonlySet<string>;
  maxRedirects: number;
  maxResponseBytes: number;
  timeoutMs: number;
  /** Deadline of an upstream MCP server's long-lived event stream (each exchange is bounded by the connector). */
  upstreamStreamTimeoutMs: number;
  onDenied: (denial: EgressDenial, scope: EgressScope) => void;
}

export interface GatewayEgress {
  /** A fetch for one connector scope. */
  fetchFor(scope: EgressScope): FetchLike;
  /** A fetch for one of the gateway's own destinations (its egress scope, e.g. `portcullis:oauth-jwks`). */
  gatewayFetch(destination: string): FetchLike;
  close(): Promise<void>;
}

/** Bound on what the gateway reads from its own destinations (a JWKS, a webhook's answer). */
const GATEWAY_RESPONSE_BYTES = 1024 * 1024;

export function createGatewayEgress(options: GatewayEgressOptions): GatewayEgress {
  const common = { maxRedirects: options.maxRedirects, onDenied: options.onDenied };
  const connectors = createEgressGuard({
    ...common,
    decide: options.decideConnector,
    maxResponseBytes: options.maxResponseBytes,
    timeoutMs: options.timeoutMs,
  });
  const upstreams = createEgressGuard({
    ...common,
    decide: options.decideConnector,
    maxResponseBytes: Number.MAX_SAFE_INTEGER,
    timeoutMs: options.upstreamStreamTimeoutMs,
  });
  const gateway = createEgressGuard({
    ...common,
    decide: options.decideGateway,
    maxResponseBytes: GATEWAY_RESPONSE_BYTES,
    timeoutMs: options.timeoutMs,
  });
  return {
    fetchFor: (scope) => (options.mcpConnectors.has(scope.connector) ? upstreams : connectors).fetchFor(scope),
    gatewayFetch: (destination) => gateway.fetchFor({ connector: destination }),
    async close() {
      await Promise.all([connectors.close(), upstreams.close(), gateway.close()]);
    },
  };
}

/**
 * The gateway's egress from its configuration: connector traffic decided by the current policy (a reload
 * applies to the next request), the gateway's own requests by the rules generated from their URLs.
 */
export function openGatewayEgress(
  config: GatewayConfig,
  deps: { policy: Pick<PolicyStore, 'current'>; audit: AuditSink; logger: Logger },
): GatewayEgress {
  const gatewayRules = compileGatewayDestinations(config);
  return createGatewayEgress({
    decideConnector: (facts) => deps.policy.current().evaluateEgress(facts),
    decideGateway: (facts) => gatewayRules.evaluateEgress(facts),
    mcpConnectors: new Set(config.connectors.filter((c) => c.kind === 'mcp').map((c) => c.id)),
    maxRedirects: config.egress.maxRedirects,
    maxResponseBytes: config.egress.maxResponseBytes,
    timeoutMs: config.egress.timeoutMs,
    upstreamStreamTimeoutMs: config.limits.upstreamStreamTimeoutSeconds * 1000,
    onDenied: egressDenialRecorder(deps),
  });
}

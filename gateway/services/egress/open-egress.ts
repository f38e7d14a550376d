/**
 * The gateway's two egress guards, both deciding with the current policy: one for calls and listings
 * (response cap and whole-exchange deadline from the configuration), and one for the long-lived event
 * streams of upstream MCP servers over HTTP (same address rules, no response cap, a long deadline).
 */
import type { EgressFacts } from '../../../policies/types.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Decision } from '../../../policies/types.js';
import { createEgressGuard, type EgressGuard } from './guard.js';

export interface GatewayEgress {
  calls: EgressGuard;
  streams: EgressGuard;
  close(): Promise<void>;
}

export function openEgress(
  config: GatewayConfig['egress'],
  options: { decide: (facts: EgressFacts) => Decision; streamTimeoutSeconds: number },
): GatewayEgress {
  const calls = createEgressGuard({
    decide: options.decide,
    maxRedirects: config.maxRedirects,
    maxResponseBytes: config.maxResponseBytes,
    timeoutMs: config.timeoutMs,
  });
  const streams = createEgressGuard({
    decide: options.decide,
    maxRedirects: config.maxRedirects,
    maxResponseBytes: Number.MAX_SAFE_INTEGER,
    timeoutMs: options.streamTimeoutSeconds * 1000,
  });
  return {
    calls,
    streams,
    async close() {
      await Promise.all([calls.close(), streams.close()]);
    },
  };
}

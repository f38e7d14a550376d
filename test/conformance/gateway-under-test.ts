/**
 * The gateway as the conformance suite sees it: the CLI-started gateway fronting the conformance fixture
 * over stdio, twice (connector `test` for almost everything, connector `json` for the one tool whose
 * suite name starts with `json_`), behind the auth proxy that supplies the agent's credential.
 *
 * Upstream era: for the 2025-11-25 run both connectors serve the 2025-era fixture; for the 2026-07-28 run
 * both serve the 2026-07-28-era fixture (conformance-upstream-modern.ts), whose own multi-round-trip
 * rounds the gateway passes through to the suite with their keys.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAuthProxy, type AuthProxy } from './auth-proxy.js';
import { startGatewayProcess, tsxCommand, type GatewayProcess } from './gateway-process.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const FIXTURE = path.join(FIXTURES, 'conformance-upstream.ts');
const MODERN_FIXTURE = path.join(FIXTURES, 'conformance-upstream-modern.ts');

/** Which fixture both connectors serve: the 2025-era one (`legacy`) or the 2026-07-28-era one (`modern`). */
export type UpstreamEra = 'legacy' | 'modern';

export function conformanceGatewayConfig(era: UpstreamEra = 'legacy'): Record<string, unknown> {
  const connector = (id: 'test' | 'json') => ({
    id,
    kind: 'mcp',
    transport: 'stdio',
    ...tsxCommand(era === 'modern' ? MODERN_FIXTURE : FIXTURE, ['--connector', id]),
  });
  return { connectors: [connector('test'), connector('json')] };
}

export interface ConformanceGateway {
  /** The URL to point the suite at (the auth proxy in front of the gateway). */
  url: string;
  gateway: GatewayProcess;
  proxy: AuthProxy;
  close(): Promise<void>;
}

export async function startConformanceGateway(era: UpstreamEra = 'legacy'): Promise<ConformanceGateway> {
  // Generous: the first start compiles the gateway's sources through tsx on a possibly busy machine.
  const gateway = await startGatewayProcess({ config: conformanceGatewayConfig(era), readyTimeoutMs: 90_000 });
  let proxy: AuthProxy;
  try {
    proxy = await startAuthProxy(gateway.url, gateway.key);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return {
    url: proxy.url,
    gateway,
    proxy,
    async close() {
      await proxy.close();
      await gateway.close();
    },
  };
}

/**
 * The gateway as the conformance suite sees it: the CLI-started gateway fronting the conformance fixture
 * over stdio, twice (connector `test` for almost everything, connector `json` for the one tool whose
 * suite name starts with `json_`), behind the auth proxy that supplies the agent's credential.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAuthProxy, type AuthProxy } from './auth-proxy.js';
import { startGatewayProcess, tsxCommand, type GatewayProcess } from './gateway-process.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'conformance-upstream.ts');

export function conformanceGatewayConfig(): Record<string, unknown> {
  const connector = (id: 'test' | 'json') => ({
    id,
    kind: 'mcp',
    transport: 'stdio',
    ...tsxCommand(FIXTURE, ['--connector', id]),
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

export async function startConformanceGateway(): Promise<ConformanceGateway> {
  // Generous: the first start compiles the gateway's sources through tsx on a possibly busy machine.
  const gateway = await startGatewayProcess({ config: conformanceGatewayConfig(), readyTimeoutMs: 90_000 });
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

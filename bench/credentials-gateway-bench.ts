/**
 * Cost of just-in-time call credentials through the whole gateway, as a ratio measured in one run: the same
 * HTTP tool called through Portcullis with `backendCredentials: { type: jwt }` (a credential per task,
 * audience and operation, reused until shortly before expiry) and without it.
 *
 *   node --import tsx bench/credentials-gateway-bench.ts     (also run by `npm run bench`)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad, type LoadResult } from './lib/load.js';
import { ratio } from './lib/stats.js';
import { startGatewayProcess } from '../test/conformance/gateway-process.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface CredentialsGatewayReport {
  sessions: number;
  off: Pick<LoadResult, 'throughput' | 'p50Ms' | 'p99Ms' | 'errors'>;
  on: Pick<LoadResult, 'throughput' | 'p50Ms' | 'p99Ms' | 'errors'>;
  /** on/off: throughput ratio (1.00 = no cost) and latency ratios (1.00 = no added latency). */
  ratios: { throughput: number; p50: number; p99: number };
  authorizedRequests: number;
}

/** A plain-text echo backend that counts requests carrying a bearer credential. */
async function startEchoBackend(): Promise<{ url: string; bearerCount(): number; close(): Promise<void> }> {
  let bearer = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization?.startsWith('Bearer ')) bearer += 1;
    const text = new URL(req.url ?? '/', 'http://backend').searchParams.get('text') ?? '';
    res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bearerCount: () => bearer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function measure(backendUrl: string, jwt: boolean, sessions: number, calls: number): Promise<LoadResult> {
  const gateway = await startGatewayProcess({
    agentId: 'bench-agent',
    config: {
      connectors: [
        {
          id: 'api',
          kind: 'http',
          baseUrl: backendUrl,
          tools: [
            {
              name: 'echo',
              method: 'GET',
              path: '/echo',
              inputSchema: {
                type: 'object',
                properties: { text: { type: 'string' } },
                required: ['text'],
                additionalProperties: false,
              },
              query: { text: 'text' },
              response: { mode: 'text' },
            },
          ],
        },
      ],
      egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
      ...(jwt ? { backendCredentials: { api: { type: 'jwt', audience: 'https://api.bench.internal' } } } : {}),
    },
  });
  try {
    return await runLoad({
      url: gateway.url,
      headers: { Authorization: `Bearer ${gateway.key}` },
      tool: 'api_echo',
      args: { text: 'hello' },
      expectText: 'hello',
      sessions,
      warmupCalls: 20,
      callsPerSession: calls,
      maxSeconds: 20,
    });
  } finally {
    await gateway.close();
  }
}

export async function runCredentialsGatewayBench(
  options: { sessions?: number; calls?: number } = {},
): Promise<CredentialsGatewayReport> {
  const sessions = options.sessions ?? 8;
  const calls = options.calls ?? 150;
  const backend = await startEchoBackend();
  try {
    const off = await measure(backend.url, false, sessions, calls);
    const before = backend.bearerCount();
    const on = await measure(backend.url, true, sessions, calls);
    const pick = (r: LoadResult) => ({ throughput: r.throughput, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors });
    return {
      sessions,
      off: pick(off),
      on: pick(on),
      ratios: {
        throughput: ratio(on.throughput, off.throughput),
        p50: ratio(on.p50Ms, off.p50Ms),
        p99: ratio(on.p99Ms, off.p99Ms),
      },
      authorizedRequests: backend.bearerCount() - before,
    };
  } finally {
    await backend.close();
  }
}

const USAGE = `usage: node --import tsx bench/credentials-gateway-bench.ts

Cost of just-in-time call credentials through the whole gateway: the same HTTP tool called with
backendCredentials: { type: jwt } and without it, as a ratio measured in one run.`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  const report = await runCredentialsGatewayBench();
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

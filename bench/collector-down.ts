/**
 * What an unreachable trace collector costs a tool call: the same gateway configuration run three times
 * in one process tree, with telemetry exporting to a live OTLP receiver ("up"), to a closed port
 * ("down"), and with telemetry off ("off"), measured in alternating rounds so drift hits all three alike.
 * Prints p50 / p99 / mean latency per variant and the latency ratios down/up and up/off.
 *
 *   node --import tsx bench/collector-down.ts [--calls 300] [--sessions 4] [--rounds 3] [--warmup 20]
 *
 * Telemetry is meant to fail open: down/up should be close to 1.
 */
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { closedPort } from '../test/fixtures/gateway-process.js';
import { startOtlpReceiver } from '../test/fixtures/otlp-receiver.js';
import { startGatewayProcess, type GatewayProcess } from '../test/conformance/gateway-process.js';
import { readCommandLine } from './lib/command.js';
import { echoConnector } from './lib/echo-upstream.js';
import { positiveInteger } from './lib/options.js';
import { ratio, summarize, type Summary } from './lib/stats.js';

type Variant = 'up' | 'down' | 'off';
const VARIANTS: readonly Variant[] = ['up', 'down', 'off'];

const USAGE = `usage: node --import tsx bench/collector-down.ts [--calls 300] [--sessions 4] [--rounds 3] [--warmup 20]

What an unreachable trace collector costs a tool call: the gateway exporting to a live OTLP receiver (up),
to a closed port (down) and with telemetry off, in alternating rounds; latency per variant and the ratios
down/up and up/off.`;

const { calls, sessions, rounds, warmup } = readCommandLine(USAGE, (args) => {
  const { values } = parseArgs({
    args,
    options: {
      calls: { type: 'string', default: '300' },
      sessions: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '20' },
    },
  });
  return {
    calls: positiveInteger('calls', values.calls),
    sessions: positiveInteger('sessions', values.sessions),
    rounds: positiveInteger('rounds', values.rounds),
    warmup: positiveInteger('warmup', values.warmup),
  };
});

/** One echo call; true when the answer is the expected one. */
async function callOnce(client: Client): Promise<boolean> {
  try {
    const result = await client.callTool({ name: 'echo_echo', arguments: { text: 'ping' } });
    const first = (result.content as { type: string; text?: string }[] | undefined)?.[0];
    return result.isError !== true && first?.text === 'ping';
  } catch {
    return false;
  }
}

const receiver = await startOtlpReceiver();
const deadPort = await closedPort();
const gateways: Partial<Record<Variant, GatewayProcess>> = {};
try {
  for (const variant of VARIANTS) {
    const telemetry =
      variant === 'off'
        ? { enabled: false }
        : {
            enabled: true,
            serviceName: `bench-${variant}`,
            otlpEndpoint: variant === 'up' ? receiver.url : `http://127.0.0.1:${deadPort}`,
          };
    gateways[variant] = await startGatewayProcess({
      agentId: 'bench-agent',
      config: { connectors: [echoConnector()], telemetry },
    });
  }

  const clients: Record<Variant, Client[]> = { up: [], down: [], off: [] };
  for (const variant of VARIANTS) {
    const gateway = gateways[variant]!;
    for (let i = 0; i < sessions; i += 1) {
      const client = new Client({ name: `bench-${variant}-${i}`, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(gateway.url), {
          requestInit: { headers: { Authorization: `Bearer ${gateway.key}` } },
        }),
      );
      clients[variant].push(client);
      for (let w = 0; w < warmup; w += 1) await callOnce(client);
    }
  }

  const latencies: Record<Variant, number[]> = { up: [], down: [], off: [] };
  const errors: Record<Variant, number> = { up: 0, down: 0, off: 0 };
  const wall: Record<Variant, number> = { up: 0, down: 0, off: 0 };
  const perSession = Math.ceil(calls / sessions);
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of VARIANTS) {
      const started = performance.now();
      await Promise.all(
        clients[variant].map(async (client) => {
          for (let i = 0; i < perSession; i += 1) {
            const t0 = performance.now();
            const ok = await callOnce(client);
            if (ok) latencies[variant].push(performance.now() - t0);
            else errors[variant] += 1;
          }
        }),
      );
      wall[variant] += performance.now() - started;
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  await Promise.all(VARIANTS.flatMap((v) => clients[v].map((c) => c.close().catch(() => undefined))));

  const summaries = Object.fromEntries(VARIANTS.map((v) => [v, summarize(latencies[v], errors[v], wall[v])])) as Record<
    Variant,
    Summary
  >;
  const rows = VARIANTS.map((v) => {
    const s = summaries[v];
    return `${v.padEnd(5)} calls ${String(s.calls).padStart(6)}  errors ${String(s.errors).padStart(4)}  p50 ${s.p50Ms.toFixed(3).padStart(8)} ms  p99 ${s.p99Ms.toFixed(3).padStart(8)} ms  mean ${s.meanMs.toFixed(3).padStart(8)} ms`;
  });
  process.stdout.write(
    [
      `collector up vs down (${rounds} rounds x ${calls} calls, ${sessions} sessions, spans received from "up" so far: ${receiver.spans().length})`,
      ...rows,
      `latency ratio p50  down/up ${ratio(summaries.down.p50Ms, summaries.up.p50Ms)}   up/off ${ratio(summaries.up.p50Ms, summaries.off.p50Ms)}`,
      `latency ratio p99  down/up ${ratio(summaries.down.p99Ms, summaries.up.p99Ms)}   up/off ${ratio(summaries.up.p99Ms, summaries.off.p99Ms)}`,
      '',
    ].join('\n'),
  );
  if (summaries.down.errors > 0 || summaries.up.errors > 0) process.exitCode = 1;
} finally {
  await Promise.all(Object.values(gateways).map((g) => g.close()));
  await receiver.close();
}

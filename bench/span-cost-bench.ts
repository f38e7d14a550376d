/**
 * What a tool call's three spans cost by themselves: the call span with its attributes and, inside it, the
 * policy decision and backend spans, started and ended as the pipeline does (`startActiveSpan`, `withSpan`),
 * with the OpenTelemetry SDK started as the gateway starts it (batch span processor, OTLP exporter to a port
 * nobody listens on) and with no SDK (the API's no-op tracer). Each variant runs in a process of its own
 * (the SDK registers itself globally), in alternating rounds; CPU is the process's user + system time over
 * the timed loop, every thread. Microseconds a call, medians of the rounds.
 *
 *   node --import tsx bench/span-cost-bench.ts [--calls 20000] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { context, SpanKind } from '@opentelemetry/api';
import * as attr from '../gateway/services/telemetry/attributes.js';
import { getTracer, withSpan } from '../gateway/services/telemetry/spans.js';
import { startTelemetry } from '../gateway/services/telemetry/sdk.js';
import { closedPort } from '../test/fixtures/gateway-process.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { BenchUsageError, positiveInteger } from './lib/options.js';
import { median } from './lib/rounds.js';

export interface SpanCost {
  wallMicros: number;
  cpuMicros: number;
}

export interface SpanCostBenchResult {
  calls: number;
  rounds: number;
  /** SDK started: spans recorded, batched and exported (to nobody). */
  sdk: SpanCost;
  /** No SDK: the API's no-op spans. */
  noSdk: SpanCost;
  /** `sdk.cpuMicros - noSdk.cpuMicros`: what recording the three spans costs a call. */
  addedCpuMicros: number;
}

type Variant = 'sdk' | 'no-sdk';

/** One call's spans, as pipeline.ts and the runner make them (attributes of the bench's echo call). */
async function oneCall(): Promise<void> {
  await getTracer().startActiveSpan(
    attr.spanNames.toolCall('echo_echo'),
    {
      kind: SpanKind.SERVER,
      links: [],
      attributes: {
        [attr.ATTR_MCP_METHOD_NAME]: 'tools/call',
        [attr.ATTR_GEN_AI_TOOL_NAME]: 'echo_echo',
        [attr.ATTR_GEN_AI_OPERATION_NAME]: attr.GEN_AI_OPERATION_EXECUTE_TOOL,
        [attr.ATTR_PORTCULLIS_AGENT_ID]: 'bench-agent',
        [attr.ATTR_PORTCULLIS_TASK_ID]: 'task-1',
        [attr.ATTR_MCP_SESSION_ID]: 'session-1',
        [attr.ATTR_NETWORK_TRANSPORT]: 'tcp',
      },
    },
    context.active(),
    async (span) => {
      try {
        await withSpan(attr.spanNames.decision, { [attr.ATTR_PORTCULLIS_DECISION]: 'allow' }, async () => undefined);
        await withSpan(attr.spanNames.backend, { [attr.ATTR_PORTCULLIS_RULES]: 'allow-echo' }, async () => undefined, {
          kind: SpanKind.CLIENT,
        });
      } finally {
        span.end();
      }
    },
  );
}

/** The timed loop of one variant, in this process. */
async function measure(variant: Variant, calls: number): Promise<SpanCost> {
  if (variant === 'sdk')
    startTelemetry({ serviceName: 'span-cost-bench', otlpEndpoint: `http://127.0.0.1:${await closedPort()}` });
  for (let i = 0; i < calls; i++) await oneCall(); // compiled code, not the interpreter
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await oneCall();
  const used = process.cpuUsage(cpu);
  return {
    wallMicros: ((performance.now() - started) * 1000) / calls,
    cpuMicros: (used.user + used.system) / calls,
  };
}

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

async function inChild(variant: Variant, calls: number): Promise<SpanCost> {
  const { stdout } = await run(process.execPath, [
    ...process.execArgv,
    SELF,
    '--child',
    variant,
    '--calls',
    String(calls),
  ]);
  return JSON.parse(stdout) as SpanCost;
}

export async function runSpanCostBench(
  options: { calls?: number; rounds?: number } = {},
): Promise<SpanCostBenchResult> {
  const calls = options.calls ?? 20_000;
  const rounds = options.rounds ?? 3;
  const sdk: SpanCost[] = [];
  const noSdk: SpanCost[] = [];
  for (let round = 0; round < rounds; round++) {
    sdk.push(await inChild('sdk', calls));
    noSdk.push(await inChild('no-sdk', calls));
  }
  const medians = (costs: SpanCost[]): SpanCost => ({
    wallMicros: median(costs.map((c) => c.wallMicros)),
    cpuMicros: median(costs.map((c) => c.cpuMicros)),
  });
  const result = { calls, rounds, sdk: medians(sdk), noSdk: medians(noSdk) };
  return { ...result, addedCpuMicros: result.sdk.cpuMicros - result.noSdk.cpuMicros };
}

const USAGE = `usage: node --import tsx bench/span-cost-bench.ts [--calls 20000] [--rounds 3]

What a tool call's three spans cost by themselves, with the OpenTelemetry SDK started as the gateway starts
it and with no SDK, each in a process of its own, in alternating rounds (µs a call, medians).`;

if (isEntryPoint(import.meta.url)) {
  const { child, calls, rounds } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: { child: { type: 'string' }, calls: { type: 'string' }, rounds: { type: 'string' } },
    });
    if (values.child !== undefined && values.child !== 'sdk' && values.child !== 'no-sdk')
      throw new BenchUsageError(`--child is sdk or no-sdk (got ${JSON.stringify(values.child)})`);
    return {
      child: values.child,
      calls: values.calls !== undefined ? positiveInteger('calls', values.calls) : undefined,
      rounds: values.rounds !== undefined ? positiveInteger('rounds', values.rounds) : undefined,
    };
  });
  if (child === 'sdk' || child === 'no-sdk') {
    console.log(JSON.stringify(await measure(child, calls ?? 20_000)));
    process.exit(0); // the exporter's retries would keep the process alive
  }
  console.log(
    JSON.stringify(
      await runSpanCostBench({
        ...(calls !== undefined ? { calls } : {}),
        ...(rounds !== undefined ? { rounds } : {}),
      }),
      null,
      2,
    ),
  );
}

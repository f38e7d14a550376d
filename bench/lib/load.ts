/**
 * The load generator: N concurrent MCP sessions, each calling one tool back to back. Sessions are opened
 * and warmed up before the clock starts; the measured phase ends when every session has made its calls or
 * the time budget is spent, whichever comes first.
 *
 * Two drivers open the sessions, each in the `legacy` (2025, sessions) or the `modern` (2026-07-28,
 * stateless) era:
 * - `sdk`: the SDK's `Client` with its `StreamableHTTPClientTransport` (what most agents use): in the legacy
 *   era its 1.x line, in the modern era its 2.x line pinned to 2026-07-28 (the 1.x client speaks only 2025);
 * - `raw`: JSON-RPC over Streamable HTTP with undici (raw-client.ts), no SDK on the client side, so the
 *   numbers show the server side's cost more clearly.
 * In the modern era both echo the task handle a result returns in `_meta`, so one driver session is one task.
 */
import {
  Client as ModernClient,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  StreamableHTTPClientTransport as ModernClientTransport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auditWritesBetween, parseAuditWriteCounters, type AuditWrites } from './audit-writes.js';
import { readMetricsText } from './metrics-text.js';
import { parsePolicyEvaluationCounts, policyEvaluationsBetween, type PolicyEvaluations } from './policy-evaluations.js';
import { MODERN_PROTOCOL_VERSION, TASK_HANDLE_META_KEY, UnsupportedEraError, type EraMode } from './eras.js';
import { machineBusyMicros } from './machine-cpu.js';
import { createRawPool, openRawSession } from './raw-client.js';
import { summarize, type Summary } from './stats.js';
import { processCpuMicros, processThreadCpu, threadCpuPerCall, type ThreadCpu } from './thread-cpu.js';
import { freshTraceContext } from './trace-context.js';

export type DriverName = 'sdk' | 'raw';
export const DRIVER_NAMES: readonly DriverName[] = ['raw', 'sdk'];

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  tool: string;
  args: Record<string, unknown>;
  /** What a correct result's first text block holds (anything else counts as an error). */
  expectText: string;
  sessions: number;
  warmupCalls: number;
  callsPerSession: number;
  /** Time budget of the measured phase; calls still in flight finish, no new ones start. */
  maxSeconds: number;
  /** Default `sdk`. */
  driver?: DriverName;
  /** The protocol era the driver speaks; default `legacy`. */
  mode?: EraMode;
  /**
   * Every call carries a trace context of its own in `params._meta` (`traceparent`), as an agent that traces
   * its work sends (trace-context.ts). Default: none.
   */
  traceContext?: boolean;
  /** The server's process id: its CPU time over the measured phase is reported per call. */
  pid?: number;
  /**
   * A Portcullis target's `/metrics`: how it wrote its audit log, and how long its policy engine took to
   * decide, over the measured phase are reported.
   */
  metricsUrl?: string;
}

export interface LoadResult extends Summary {
  sessions: number;
  /** True when the time budget ended the phase before every call was made. */
  truncated: boolean;
  /** First error seen, for the report (never contains credentials: only the tool's own message). */
  firstError?: string;
  /**
   * CPU time (user + system, all threads) the server process used per completed call over the measured
   * phase, in microseconds. A busy machine stretches wall time far more than CPU time, so this is the
   * steadier measure of what a target costs.
   */
  cpuMicrosPerCall?: number;
  /**
   * The same by kind of thread (Linux): the main thread, V8's workers (collector helpers, background
   * compilation) and libuv's pool. Read from the threads alive at the end of the phase, so the parts may
   * fall a little short of `cpuMicrosPerCall`.
   */
  cpuPerCallByThread?: ThreadCpu;
  /**
   * CPU time (user + system) of this process, the load generator, per completed call over the measured
   * phase, in microseconds: what the driver's client costs on the cores the target shares with it (the
   * SDK's client costs several times the raw driver).
   */
  driverCpuMicrosPerCall?: number;
  /**
   * Busy CPU time of the whole machine (every core, process and kernel thread; `machine-cpu.ts`) per
   * completed call over the measured phase, in microseconds: the target, what it drives (the upstream
   * behind a proxy, the kernel's work for its synced writes) and the driver.
   */
  machineCpuMicrosPerCall?: number;
  /** The measured phase on the monotonic clock, in microseconds (to cut a CPU profile down to it). */
  phase?: { startUs: number; endUs: number };
  /** How the audit log was written over the measured phase (targets with `metricsUrl` and an audit file). */
  auditWrites?: AuditWrites;
  /** How long the policy engine took to decide over the measured phase (targets with `metricsUrl`). */
  policyEvaluations?: PolicyEvaluations;
}

/** One open session: `call` resolves to an error message, or undefined when the result is the expected one. */
interface Session {
  call(): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Driver {
  open(index: number): Promise<Session>;
  close(): Promise<void>;
}

/** What a tool result says about the echo: an error message, or undefined when it is the expected text. */
function checkToolResult(result: object, expectText: string): string | undefined {
  const { content, isError } = result as { content?: unknown; isError?: unknown };
  const first = (content as { type: string; text?: string }[] | undefined)?.[0];
  if (isError === true) return `tool error: ${first?.text ?? 'no message'}`;
  if (first?.type !== 'text' || first.text !== expectText) return 'unexpected result';
  return undefined;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A call's `_meta` from the SDK drivers: the task handle to echo and a trace context, when there are any. */
function callMeta(options: LoadOptions, taskHandle?: string): { _meta?: Record<string, unknown> } {
  const meta = {
    ...(taskHandle !== undefined ? { [TASK_HANDLE_META_KEY]: taskHandle } : {}),
    ...(options.traceContext === true ? freshTraceContext() : {}),
  };
  return Object.keys(meta).length > 0 ? { _meta: meta } : {};
}

function sdkDriver(options: LoadOptions): Driver {
  if ((options.mode ?? 'legacy') === 'modern') return modernSdkDriver(options);
  return {
    async open(index) {
      const client = new Client({ name: `bench-session-${index}`, version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(
        new URL(options.url),
        options.headers === undefined ? undefined : { requestInit: { headers: options.headers } },
      );
      await client.connect(transport);
      return {
        async call() {
          try {
            return checkToolResult(
              await client.callTool({ name: options.tool, arguments: options.args, ...callMeta(options) }),
              options.expectText,
            );
          } catch (error) {
            return messageOf(error);
          }
        },
        // End the session as a client done with it does (DELETE), not only the connection: sessions left
        // open pile up on the target from round to round (memory, and the per-agent session cap).
        async close() {
          await transport.terminateSession().catch(() => undefined);
          await client.close();
        },
      };
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The SDK driver in the 2026-07-28 era: the 2.x client pinned to that revision. Connecting sends its
 * `server/discover` probe (no session is opened); every call is then a request of its own with the
 * per-request envelope. A server that does not settle on 2026-07-28 is reported as unsupported.
 */
function modernSdkDriver(options: LoadOptions): Driver {
  return {
    async open(index) {
      const client = new ModernClient(
        { name: `bench-session-${index}`, version: '1.0.0' },
        { versionNegotiation: { mode: { pin: MODERN_PROTOCOL_VERSION } } },
      );
      const transport = new ModernClientTransport(
        new URL(options.url),
        options.headers === undefined ? undefined : { requestInit: { headers: options.headers } },
      );
      try {
        await client.connect(transport);
      } catch (error) {
        await client.close().catch(() => undefined);
        throw isEraRefusal(error) ? new UnsupportedEraError(messageOf(error)) : error;
      }
      const negotiated = client.getNegotiatedProtocolVersion();
      if (negotiated !== MODERN_PROTOCOL_VERSION) {
        await client.close().catch(() => undefined);
        throw new UnsupportedEraError(
          `the server settled on ${negotiated ?? 'no version'}, not ${MODERN_PROTOCOL_VERSION}`,
        );
      }
      // A task handle the server returned is echoed on the following calls (one piece of work, one task).
      let taskHandle: string | undefined;
      return {
        async call() {
          try {
            const result = await client.callTool({
              name: options.tool,
              arguments: options.args,
              ...callMeta(options, taskHandle),
            });
            const handle = result._meta?.[TASK_HANDLE_META_KEY];
            if (typeof handle === 'string') taskHandle = handle;
            return checkToolResult(result, options.expectText);
          } catch (error) {
            return messageOf(error);
          }
        },
        close: () => client.close(),
      };
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The 2.x client's refusal to connect because the server answered its probe without offering 2026-07-28 (a
 * server of the 2025 revisions), as against a failure to reach or use the server at all: no connection
 * (the error has a cause), an HTTP error status (5xx), or authentication (its own codes). Only the refusal
 * means the era is unsupported; anything else fails the target as it would in the legacy era.
 */
function isEraRefusal(error: unknown): boolean {
  return (
    error instanceof SdkError &&
    error.code === SdkErrorCode.EraNegotiationFailed &&
    !(error instanceof SdkHttpError) &&
    error.cause === undefined
  );
}

function rawDriver(options: LoadOptions): Driver {
  const pool = createRawPool(options.url, options.sessions);
  const endpoint = { url: options.url, ...(options.headers !== undefined ? { headers: options.headers } : {}) };
  const mode = options.mode ?? 'legacy';
  return {
    async open(index) {
      const session = await openRawSession(pool, endpoint, mode, `bench-session-${index}`);
      // The first call tells whether the server speaks this era at all (it throws UnsupportedEraError if not).
      return {
        async call() {
          try {
            return await session.callTool(
              options.tool,
              options.args,
              options.expectText,
              options.traceContext === true ? freshTraceContext() : undefined,
            );
          } catch (error) {
            if (error instanceof UnsupportedEraError) throw error;
            return messageOf(error);
          }
        },
        close: () => session.close(),
      };
    },
    close: () => pool.close(),
  };
}

const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/** The server's CPU time now, in all and by thread (nothing without its process id, or off Linux). */
async function cpuReading(pid: number | undefined): Promise<{ total?: number; threads?: ThreadCpu }> {
  if (pid === undefined) return {};
  const [total, threads] = await Promise.all([processCpuMicros(pid), processThreadCpu(pid)]);
  return { ...(total !== undefined ? { total } : {}), ...(threads !== undefined ? { threads } : {}) };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const driver = (options.driver ?? 'sdk') === 'raw' ? rawDriver(options) : sdkDriver(options);
  try {
    const sessions = await Promise.all(Array.from({ length: options.sessions }, (_, i) => driver.open(i)));
    try {
      await Promise.all(
        sessions.map(async (session) => {
          for (let i = 0; i < options.warmupCalls; i += 1) await session.call();
        }),
      );

      const latencies: number[] = [];
      let errors = 0;
      let firstError: string | undefined;
      let truncated = false;
      const metricsBefore = options.metricsUrl !== undefined ? await readMetricsText(options.metricsUrl) : undefined;
      const auditBefore = metricsBefore !== undefined ? parseAuditWriteCounters(metricsBefore) : undefined;
      const policyBefore = metricsBefore !== undefined ? parsePolicyEvaluationCounts(metricsBefore) : undefined;
      const before = await cpuReading(options.pid);
      const machineBefore = await machineBusyMicros();
      const deadline = performance.now() + options.maxSeconds * 1000;
      const startUs = monotonicMicros();
      const driverBefore = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        sessions.map(async (session) => {
          for (let i = 0; i < options.callsPerSession; i += 1) {
            if (performance.now() >= deadline) {
              truncated = true;
              return;
            }
            const t0 = performance.now();
            const error = await session.call();
            const elapsed = performance.now() - t0;
            if (error === undefined) latencies.push(elapsed);
            else {
              errors += 1;
              firstError ??= error;
            }
          }
        }),
      );
      const wallMs = performance.now() - started;
      const driverUsed = process.cpuUsage(driverBefore);
      const endUs = monotonicMicros();
      const machineAfter = await machineBusyMicros();
      const after = await cpuReading(options.pid);
      const metricsAfter =
        metricsBefore !== undefined && options.metricsUrl !== undefined
          ? await readMetricsText(options.metricsUrl)
          : undefined;
      const auditAfter = metricsAfter !== undefined ? parseAuditWriteCounters(metricsAfter) : undefined;
      const policyAfter = metricsAfter !== undefined ? parsePolicyEvaluationCounts(metricsAfter) : undefined;
      const policyEvaluations =
        policyAfter !== undefined ? policyEvaluationsBetween(policyBefore, policyAfter) : undefined;
      const calls = latencies.length;
      return {
        ...(before.total !== undefined && after.total !== undefined && calls > 0
          ? { cpuMicrosPerCall: Math.round((after.total - before.total) / calls) }
          : {}),
        ...(before.threads !== undefined && after.threads !== undefined && calls > 0
          ? { cpuPerCallByThread: threadCpuPerCall(before.threads, after.threads, calls) }
          : {}),
        ...(calls > 0 ? { driverCpuMicrosPerCall: Math.round((driverUsed.user + driverUsed.system) / calls) } : {}),
        ...(machineBefore !== undefined && machineAfter !== undefined && calls > 0
          ? { machineCpuMicrosPerCall: Math.round((machineAfter - machineBefore) / calls) }
          : {}),
        phase: { startUs, endUs },
        ...(auditBefore !== undefined && auditAfter !== undefined
          ? { auditWrites: auditWritesBetween(auditBefore, auditAfter) }
          : {}),
        ...(policyEvaluations !== undefined ? { policyEvaluations } : {}),
        ...summarize(latencies, errors, wallMs),
        sessions: options.sessions,
        truncated,
        ...(firstError !== undefined ? { firstError } : {}),
      };
    } finally {
      await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    }
  } finally {
    await driver.close().catch(() => undefined);
  }
}

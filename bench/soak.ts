/**
 * `npm run bench:soak`: memory of the gateway under steady load over time.
 *
 *   node --import tsx bench/soak.ts [--minutes 10] [--interval-seconds 60] [--sessions 8] [--bin bin/portcullis.js]
 *
 * Starts `portcullis start` with its defaults (the echo server as a stdio connector, an agent key, policy,
 * the audit log synced per record before each response, tracing configured with no collector listening) and
 * keeps `--sessions` raw-driver sessions calling the echo tool back to back for `--minutes`. Every interval
 * it prints the gateway's resident memory (VmRSS and RssAnon from /proc) and the calls made in that
 * interval. At the end it compares the last reading with the one at minute 2 (the first after warm-up);
 * flat means within 5%. Shorter runs scale the same comparison: the reading at 20% of the run stands in for
 * minute 2. `--bin` runs another compiled command (another build, or the same one with other Node flags on
 * its first line) instead of this checkout's. Linux only (it reads /proc).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from '../test/conformance/gateway-process.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { ensureCompiled } from './lib/compiled.js';
import { BenchUsageError, positiveInteger, positiveNumber } from './lib/options.js';
import { CLI_COMPILED } from '../test/fixtures/gateway-process.js';
import { benchGatewayConfig } from './lib/echo-upstream.js';
import { readProcessMemory, type ProcessMemory } from './idle-sessions.js';
import { createRawPool, openRawSession } from './lib/raw-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SoakSample extends ProcessMemory {
  /** Seconds since the load started. */
  atSeconds: number;
  callsInInterval: number;
  errorsInInterval: number;
}

export interface SoakReport {
  minutes: number;
  sessions: number;
  samples: SoakSample[];
  /** The reading compared against (minute 2, or 20% into a shorter run) and the last one. */
  reference: SoakSample;
  last: SoakSample;
  /** last.rssKb / reference.rssKb - 1 */
  rssDrift: number;
  flat: boolean;
}

/** The sample the drift is measured from: the first at or after 20% of the run (minute 2 of 10). */
export function referenceSample<T extends { atSeconds: number }>(samples: readonly T[], totalSeconds: number): T {
  const at = totalSeconds * 0.2;
  return samples.find((s) => s.atSeconds >= at - 1e-9) ?? samples[samples.length - 1]!;
}

export async function runSoak(options: {
  minutes: number;
  intervalSeconds: number;
  sessions: number;
  /** The compiled command to run (default: this checkout's, rebuilt first when stale). */
  bin?: string;
  log?: (line: string) => void;
}): Promise<SoakReport> {
  // The gateway as installed users run it: the compiled command (dist/ rebuilt first when stale).
  if (options.bin === undefined) ensureCompiled(ROOT, (line) => process.stderr.write(`${line}\n`));
  const gateway = await startGatewayProcess({
    agentId: 'bench-agent',
    compiledCli: options.bin ?? CLI_COMPILED,
    config: await benchGatewayConfig(),
  });
  const pool = createRawPool(gateway.url, options.sessions);
  const endpoint = { url: gateway.url, headers: { Authorization: `Bearer ${gateway.key}` } };
  try {
    if (gateway.pid === undefined) throw new Error('no gateway pid');
    const pid = gateway.pid;
    const sessions = await Promise.all(
      Array.from({ length: options.sessions }, (_, i) => openRawSession(pool, endpoint, 'legacy', `soak-${i}`)),
    );
    let calls = 0;
    let errors = 0;
    let firstError: string | undefined;
    let stop = false;
    const text = 'soak';
    const loops = sessions.map(async (session) => {
      while (!stop) {
        const error = await session.callTool('echo_echo', { text }, text).catch((e: unknown) => String(e));
        if (error === undefined) calls++;
        else {
          errors++;
          firstError ??= error;
        }
      }
    });
    const totalSeconds = options.minutes * 60;
    const samples: SoakSample[] = [];
    const started = performance.now();
    let lastCalls = 0;
    let lastErrors = 0;
    for (let at = options.intervalSeconds; at <= totalSeconds + 1e-9; at += options.intervalSeconds) {
      const wait = started + at * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const memory = await readProcessMemory(pid);
      const sample: SoakSample = {
        atSeconds: Math.round(at),
        ...memory,
        callsInInterval: calls - lastCalls,
        errorsInInterval: errors - lastErrors,
      };
      lastCalls = calls;
      lastErrors = errors;
      samples.push(sample);
      options.log?.(formatSample(sample));
    }
    stop = true;
    await Promise.all(loops);
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    if (firstError !== undefined) options.log?.(`first error: ${firstError}`);
    const reference = referenceSample(samples, totalSeconds);
    const last = samples[samples.length - 1]!;
    const rssDrift = Math.round((last.rssKb / reference.rssKb - 1) * 1000) / 1000;
    return {
      minutes: options.minutes,
      sessions: options.sessions,
      samples,
      reference,
      last,
      rssDrift,
      flat: Math.abs(rssDrift) <= 0.05,
    };
  } finally {
    await pool.close().catch(() => undefined);
    await gateway.close();
  }
}

function formatSample(s: SoakSample): string {
  const minutes = (s.atSeconds / 60).toFixed(s.atSeconds % 60 === 0 ? 0 : 1);
  return `minute ${minutes.padStart(4)}: RSS ${(s.rssKb / 1024).toFixed(1)} MB, RssAnon ${(s.rssAnonKb / 1024).toFixed(1)} MB, ${s.callsInInterval} calls, ${s.errorsInInterval} errors`;
}

export function formatSoak(r: SoakReport): string {
  const minute = (s: SoakSample): string => (s.atSeconds / 60).toFixed(s.atSeconds % 60 === 0 ? 0 : 1);
  return `RSS at minute ${minute(r.last)} vs minute ${minute(r.reference)}: ${(r.rssDrift * 100).toFixed(1)}% (${r.flat ? 'flat: within 5%' : 'NOT flat: beyond 5%'})`;
}

const USAGE = `usage: node --import tsx bench/soak.ts [--minutes 10] [--interval-seconds 60] [--sessions 8]
                                 [--bin bin/portcullis.js]

The gateway's resident memory every interval while --sessions raw-driver sessions call it back to back for
--minutes; flat means the last reading within 5% of the one at minute 2 (exit 1 otherwise).`;

if (isEntryPoint(import.meta.url)) {
  const { minutes, intervalSeconds, sessions, bin } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: {
        minutes: { type: 'string', default: '10' },
        'interval-seconds': { type: 'string', default: '60' },
        sessions: { type: 'string', default: '8' },
        bin: { type: 'string' },
      },
    });
    const minutes = positiveNumber('minutes', values.minutes);
    const intervalSeconds = positiveNumber('interval-seconds', values['interval-seconds']);
    if (intervalSeconds > minutes * 60)
      throw new BenchUsageError(`--interval-seconds must be at most the run (${minutes * 60} s)`);
    return { minutes, intervalSeconds, sessions: positiveInteger('sessions', values.sessions), bin: values.bin };
  });
  const report = await runSoak({
    minutes,
    intervalSeconds,
    sessions,
    ...(bin !== undefined ? { bin: path.resolve(bin) } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${formatSoak(report)}\n`);
  process.exitCode = report.flat ? 0 : 1;
}

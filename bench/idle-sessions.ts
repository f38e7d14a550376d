/**
 * `npm run bench:idle-sessions`: memory an idle legacy (2025) MCP session costs the gateway.
 *
 *   node --import tsx bench/idle-sessions.ts [--sessions 1000] [--settle-seconds 3] [--bin bin/portcullis.js]
 *
 * Starts `portcullis start` with its defaults (the echo server as a stdio connector, an agent key, the audit
 * log) and room for the sessions (`http.maxSessionsPerAgent`), opens and closes a few sessions to warm it
 * up, then opens N sessions with the raw driver (initialize + notifications/initialized, nothing else) and
 * leaves them idle. The gateway's resident memory (`VmRSS`) and anonymous resident memory (`RssAnon`: the
 * JavaScript heap and other allocations, without mapped files) are read from /proc before and after, once
 * the process has settled; the difference over N is the cost of one idle session. Then the sessions are
 * closed and the memory read again. `--bin` runs another compiled command (another build, or the same one
 * with other Node flags on its first line) instead of this checkout's. Linux only (it reads /proc).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from '../test/conformance/gateway-process.js';
import { CLI_COMPILED } from '../test/fixtures/gateway-process.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { ensureCompiled } from './lib/compiled.js';
import { nonNegativeSeconds, positiveInteger } from './lib/options.js';
import { echoConnector } from './lib/echo-upstream.js';
import { createRawPool, openRawSession, type RawSession } from './lib/raw-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ProcessMemory {
  rssKb: number;
  rssAnonKb: number;
}

/** VmRSS and RssAnon of a process, in KB, from /proc/<pid>/status. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match?.[1] === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssKb: field('VmRSS'), rssAnonKb: field('RssAnon') };
}

export interface IdleSessionsReport {
  sessions: number;
  before: ProcessMemory;
  open: ProcessMemory;
  closed: ProcessMemory;
  /** (open - before) / sessions */
  rssKbPerSession: number;
  rssAnonKbPerSession: number;
  targetKbPerSession: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runIdleSessions(
  options: {
    sessions?: number;
    settleSeconds?: number;
    /** The compiled command to run (default: this checkout's, rebuilt first when stale). */
    bin?: string;
  } = {},
) {
  const count = options.sessions ?? 1000;
  const settleMs = (options.settleSeconds ?? 3) * 1000;
  // The gateway as installed users run it: the compiled command (dist/ rebuilt first when stale).
  if (options.bin === undefined) ensureCompiled(ROOT, (line) => process.stderr.write(`${line}\n`));
  const gateway = await startGatewayProcess({
    agentId: 'bench-agent',
    compiledCli: options.bin ?? CLI_COMPILED,
    config: {
      connectors: [echoConnector()],
      http: { maxSessionsPerAgent: count + 100 },
    },
  });
  const pool = createRawPool(gateway.url, 16);
  const endpoint = { url: gateway.url, headers: { Authorization: `Bearer ${gateway.key}` } };
  try {
    if (gateway.pid === undefined) throw new Error('no gateway pid');
    const pid = gateway.pid;
    const openMany = async (n: number, from: number): Promise<RawSession[]> => {
      const sessions: RawSession[] = [];
      // A few at a time, as agents arrive: not a burst of n concurrent handshakes.
      for (let i = 0; i < n; i += 16) {
        const batch = Math.min(16, n - i);
        sessions.push(
          ...(await Promise.all(
            Array.from({ length: batch }, (_, j) => openRawSession(pool, endpoint, 'legacy', `idle-${from + i + j}`)),
          )),
        );
      }
      return sessions;
    };
    // Warm-up: code paths compiled, lazy state created, before the baseline.
    const warm = await openMany(50, 0);
    await Promise.all(warm.map((s) => s.close()));
    await sleep(settleMs);
    const before = await readProcessMemory(pid);
    const sessions = await openMany(count, 100);
    await sleep(settleMs);
    const open = await readProcessMemory(pid);
    await Promise.all(sessions.map((s) => s.close()));
    await sleep(settleMs);
    const closed = await readProcessMemory(pid);
    const per = (a: number, b: number): number => Math.round(((a - b) / count) * 10) / 10;
    const report: IdleSessionsReport = {
      sessions: count,
      before,
      open,
      closed,
      rssKbPerSession: per(open.rssKb, before.rssKb),
      rssAnonKbPerSession: per(open.rssAnonKb, before.rssAnonKb),
      targetKbPerSession: 48,
    };
    return report;
  } finally {
    await pool.close().catch(() => undefined);
    await gateway.close();
  }
}

export function formatIdleSessions(r: IdleSessionsReport): string {
  const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
  return [
    `idle legacy sessions: ${r.sessions}`,
    `RSS      before ${mb(r.before.rssKb)}, ${r.sessions} open ${mb(r.open.rssKb)}, closed ${mb(r.closed.rssKb)}: ${r.rssKbPerSession} KB per session`,
    `RssAnon  before ${mb(r.before.rssAnonKb)}, ${r.sessions} open ${mb(r.open.rssAnonKb)}, closed ${mb(r.closed.rssAnonKb)}: ${r.rssAnonKbPerSession} KB per session`,
    `target <= ${r.targetKbPerSession} KB per session (RSS): ${r.rssKbPerSession <= r.targetKbPerSession ? 'met' : 'NOT met'}`,
  ].join('\n');
}

const USAGE = `usage: node --import tsx bench/idle-sessions.ts [--sessions 1000] [--settle-seconds 3]
                                          [--bin bin/portcullis.js]

The gateway's resident memory before, with --sessions idle legacy (2025) MCP sessions open, and after they
close: what an idle session costs (goal: 48 KB of RSS or less).`;

if (isEntryPoint(import.meta.url)) {
  const { sessions, settleSeconds, bin } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: {
        sessions: { type: 'string', default: '1000' },
        'settle-seconds': { type: 'string', default: '3' },
        bin: { type: 'string' },
      },
    });
    return {
      sessions: positiveInteger('sessions', values.sessions),
      settleSeconds: nonNegativeSeconds('settle-seconds', values['settle-seconds']),
      bin: values.bin !== undefined ? { bin: path.resolve(values.bin) } : {},
    };
  });
  process.stdout.write(`${formatIdleSessions(await runIdleSessions({ sessions, settleSeconds, ...bin }))}\n`);
}

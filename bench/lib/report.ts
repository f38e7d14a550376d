/**
 * The benchmark's table and ratios. Ratios compare Portcullis with each baseline at the same session
 * count: throughput ratio (higher is better, 1 = as fast) and latency ratios (lower is better, 1 = no
 * added latency).
 */
import type { LoadResult } from './load.js';
import { ratio } from './stats.js';
import type { TargetName } from './targets.js';

export interface RatioSet {
  throughput: number;
  p50: number;
  p99: number;
}

/** `portcullis/direct` and `portcullis/mcp-proxy` at one session count; absent when a side is missing. */
export interface Ratios {
  vsDirect?: RatioSet;
  vsMcpProxy?: RatioSet;
}

type Results = Partial<Record<TargetName, Record<string, LoadResult>>>;

function ratioSet(c: LoadResult | undefined, base: LoadResult | undefined): RatioSet | undefined {
  if (c === undefined || base === undefined) return undefined;
  return {
    throughput: ratio(c.throughput, base.throughput),
    p50: ratio(c.p50Ms, base.p50Ms),
    p99: ratio(c.p99Ms, base.p99Ms),
  };
}

export function ratios(results: Results, sessions: string): Ratios {
  const c = results.portcullis?.[sessions];
  const vsDirect = ratioSet(c, results.direct?.[sessions]);
  const vsMcpProxy = ratioSet(c, results['mcp-proxy']?.[sessions]);
  return { ...(vsDirect !== undefined ? { vsDirect } : {}), ...(vsMcpProxy !== undefined ? { vsMcpProxy } : {}) };
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

export function formatTable(
  results: Results,
  allRatios: Record<string, Ratios>,
  sessionCounts: readonly number[],
): string {
  const header = ['target', 'sessions', 'calls', 'errors', 'calls/s', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'];
  const rows: string[][] = [];
  for (const [name, perSessions] of Object.entries(results)) {
    for (const sessions of sessionCounts) {
      const r = perSessions?.[String(sessions)];
      if (r === undefined) continue;
      rows.push([
        name,
        String(sessions),
        `${r.calls}${r.truncated ? '*' : ''}`,
        String(r.errors),
        fixed(r.throughput, 0),
        fixed(r.p50Ms, 2),
        fixed(r.p99Ms, 2),
        fixed(r.meanMs, 2),
        fixed(r.maxMs, 2),
      ]);
    }
  }
  const lines = [renderTable(header, rows)];
  const ratioRows: string[][] = [];
  for (const sessions of sessionCounts) {
    const r = allRatios[String(sessions)];
    for (const [label, set] of [
      ['portcullis / direct', r?.vsDirect],
      ['portcullis / mcp-proxy', r?.vsMcpProxy],
    ] as const) {
      if (set !== undefined)
        ratioRows.push([label, String(sessions), fixed(set.throughput, 2), fixed(set.p50, 2), fixed(set.p99, 2)]);
    }
  }
  if (ratioRows.length > 0) {
    lines.push('', renderTable(['ratio', 'sessions', 'throughput', 'p50', 'p99'], ratioRows));
    lines.push(
      'throughput ratio: higher is better (1.00 = as fast); latency ratios: lower is better (1.00 = no added latency)',
    );
  }
  if (rows.some((row) => row[2]?.endsWith('*')))
    lines.push('* the time budget ended the run before every call was made');
  return lines.join('\n');
}

function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

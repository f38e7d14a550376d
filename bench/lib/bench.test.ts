/**
 * The benchmark's arithmetic, configuration, report and micro-benchmark discovery. No timing is asserted: inputs are fixed numbers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../run.js';
import type { LoadResult } from './load.js';
import { entryPointFor, findMicroBenches, runMicroBench } from './micro.js';
import { formatTable, ratios } from './report.js';
import { percentile, ratio, summarize } from './stats.js';

const result = (throughput: number, p50Ms: number, p99Ms: number): LoadResult => ({
  calls: 100,
  errors: 0,
  wallMs: 1000,
  throughput,
  p50Ms,
  p99Ms,
  meanMs: p50Ms,
  maxMs: p99Ms,
  sessions: 1,
  truncated: false,
});

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('summarizes unsorted latencies and computes throughput from wall time', () => {
    const summary = summarize([3, 1, 2, 4], 1, 2000);
    assert.equal(summary.calls, 4);
    assert.equal(summary.errors, 1);
    assert.equal(summary.throughput, 2);
    assert.equal(summary.p50Ms, 2);
    assert.equal(summary.maxMs, 4);
    assert.equal(summary.meanMs, 2.5);
  });

  it('leaves ratios undefined (NaN) when a side is missing', () => {
    assert.equal(ratio(1, 2), 0.5);
    assert.ok(Number.isNaN(ratio(1, 0)));
    assert.ok(Number.isNaN(ratio(Number.NaN, 1)));
  });
});

describe('bench report', () => {
  const results = {
    direct: { '1': result(1000, 1, 2) },
    'mcp-proxy': { '1': result(500, 2, 4) },
    portcullis: { '1': result(400, 2.5, 5) },
  };

  it('compares portcullis with each baseline', () => {
    assert.deepEqual(ratios(results, '1'), {
      vsDirect: { throughput: 0.4, p50: 2.5, p99: 2.5 },
      vsMcpProxy: { throughput: 0.8, p50: 1.25, p99: 1.25 },
    });
    assert.deepEqual(ratios({ direct: results.direct }, '1'), {});
  });

  it('prints every target and both ratios', () => {
    const table = formatTable(results, { '1': ratios(results, '1') }, [1]);
    for (const text of [
      'direct',
      'mcp-proxy',
      'portcullis',
      'portcullis / direct',
      'portcullis / mcp-proxy',
      '0.40',
      '1.25',
    ]) {
      assert.ok(table.includes(text), `missing ${text} in:\n${table}`);
    }
  });
});

describe('bench configuration', () => {
  it('has defaults', () => {
    const config = parseConfig([], {});
    assert.deepEqual(config.sessions, [1, 32]);
    assert.deepEqual(config.targets, ['direct', 'mcp-proxy', 'portcullis']);
    assert.ok(config.out.endsWith('bench/results/latest.json'));
  });

  it('reads the environment, and flags win over it', () => {
    const config = parseConfig(['--calls', '7'], {
      BENCH_CALLS: '50',
      BENCH_SESSIONS: '2,4',
      BENCH_TARGETS: 'portcullis',
    });
    assert.equal(config.callsPerSession, 7);
    assert.deepEqual(config.sessions, [2, 4]);
    assert.deepEqual(config.targets, ['portcullis']);
  });

  it('rejects bad values', () => {
    assert.throws(() => parseConfig(['--sessions', '0'], {}), /between 1 and 256/);
    assert.throws(() => parseConfig(['--targets', 'nginx'], {}), /unknown target/);
    assert.throws(() => parseConfig(['--calls', 'many'], {}), /non-negative integer/);
    assert.throws(() => parseConfig(['--max-seconds', '0'], {}), /max-seconds/);
  });
});

describe('micro-benchmark discovery', () => {
  it('maps file names to entry points', () => {
    assert.equal(entryPointFor('policy'), 'runPolicyBench');
    assert.equal(entryPointFor('tool-integrity'), 'runToolIntegrityBench');
  });

  it('finds <name>-bench.ts files and ignores everything else', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-bench-'));
    try {
      for (const file of [
        'policy-bench.ts',
        'credentials-bench.ts',
        'run.ts',
        'echo-server.ts',
        'policy-bench.test.ts',
      ])
        await writeFile(path.join(dir, file), '');
      assert.deepEqual(await findMicroBenches(dir), ['credentials', 'policy']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs the entry point and reports a missing one as an error', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-bench-'));
    try {
      await writeFile(
        path.join(dir, 'good-bench.ts'),
        'export async function runGoodBench() { return { ops: 42 }; }\n',
      );
      await writeFile(path.join(dir, 'bad-bench.ts'), 'export const nothing = 1;\n');
      assert.deepEqual(await runMicroBench(dir, 'good'), { ops: 42 });
      assert.deepEqual(await runMicroBench(dir, 'bad'), { error: 'bench/bad-bench.ts does not export runBadBench()' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

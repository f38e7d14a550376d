/**
 * The benchmark's arithmetic, configuration, report and micro-benchmark discovery. No timing is asserted: inputs are fixed numbers.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  baselineProfileChanges,
  baselineSettings,
  checkoutOf,
  cellsOf,
  MAX_PAYLOAD_BYTES,
  parseConfig,
  payloadText,
  reportedConfig,
  summaryKey,
} from '../run.js';
import { referenceSample } from '../soak.js';
import { distIsStale } from './compiled.js';
import {
  compareProfiles,
  compareSummaries,
  formatComparison,
  formatProfile,
  mainCpuPerCall,
  summarizeProfile,
  type CpuProfile,
} from './cpu-profile.js';
import { checkEcho, findResponse, parseSseMessages } from './raw-client.js';
import type { LoadResult } from './load.js';
import { entryPointFor, findMicroBenches, runMicroBench } from './micro.js';
import { formatComparisons, formatMedians, formatRounds } from './report.js';
import {
  compareCell,
  compareCells,
  median,
  medianInterval,
  perRoundRatios,
  rotate,
  targetMedians,
  type RoundResults,
} from './rounds.js';
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

describe('bench rounds and paired ratios', () => {
  const rounds: RoundResults = [
    {
      'raw/legacy/1': {
        direct: result(1000, 1, 2),
        'mcp-proxy': result(500, 2, 4),
        portcullis: result(400, 2.5, 5),
      },
    },
    {
      'raw/legacy/1': {
        direct: result(800, 1, 2),
        'mcp-proxy': result(400, 2, 4),
        portcullis: result(480, 1.5, 3),
      },
    },
    {
      'raw/legacy/1': {
        direct: result(900, 1, 2),
        'mcp-proxy': result(300, 2, 4),
        portcullis: result(600, 3, 6),
      },
    },
  ];

  it('takes medians of finite values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([Number.NaN, 5]), 5);
    assert.ok(Number.isNaN(median([])));
  });

  it("bounds a median with two of the values, by the rounds' order alone", () => {
    const twelve = [1.2, 0.8, 1.1, 0.9, 1.0, 1.3, 0.7, 1.05, 0.95, 1.15, 0.85, 1.4];
    // Twelve values: the 3rd smallest and the 3rd largest, covering the median 96.1% of the time.
    const interval = medianInterval(twelve);
    assert.deepEqual({ low: interval?.low, high: interval?.high }, { low: 0.85, high: 1.2 });
    assert.equal(interval?.coverage.toFixed(4), (1 - (2 * (1 + 12 + 66)) / 4096).toFixed(4));
    // Six values: the whole range (96.9%); five cannot reach 95% even with the whole range (93.8%).
    assert.deepEqual(medianInterval([3, 1, 2, 6, 5, 4]), { low: 1, high: 6, coverage: 1 - 2 / 64 });
    assert.equal(medianInterval([3, 1, 2, 5, 4]), undefined);
    assert.deepEqual(medianInterval([3, 1, 2, 5, 4], 0.9), { low: 1, high: 5, coverage: 1 - 2 / 32 });
    // Missing rounds (NaN) are left out, as from the median.
    assert.equal(medianInterval([1, 2, 3, 4, 5, Number.NaN]), undefined);
    // Many rounds (2^-n underflows past about a thousand): about the median plus or minus two standard errors,
    // 1,000 ± 44 of 2,000 values in order, not the median alone.
    const many = medianInterval(Array.from({ length: 2000 }, (_, i) => i + 1));
    assert.ok(
      many !== undefined && many.low >= 950 && many.low <= 960 && many.high >= 1041 && many.high <= 1051,
      JSON.stringify(many),
    );
    assert.ok(many.coverage >= 0.95 && many.coverage < 0.96, JSON.stringify(many));
  });

  it('pairs ratios within each round and reports their median', () => {
    assert.deepEqual(perRoundRatios(rounds, 'raw/legacy/1', 'portcullis', 'mcp-proxy', 'throughput'), [0.8, 1.2, 2]);
    const comparisons = compareCell(rounds, 'raw/legacy/1', ['direct', 'mcp-proxy', 'portcullis']);
    const vsProxy = comparisons.find((c) => c.label === 'portcullis / mcp-proxy' && c.metric === 'throughput');
    assert.equal(vsProxy?.median, 1.2);
    const added = comparisons.find((c) => c.metric === 'addedP50Ms');
    assert.deepEqual(added?.perRound, [1.5, 0.5, 2]);
    assert.equal(added?.median, 1.5);
  });

  it('compares the gateway with its baseline build, and the baseline only with the peers', () => {
    const withBaseline: RoundResults = rounds.map((round) => ({
      'raw/legacy/1': { ...round['raw/legacy/1'], 'portcullis-baseline': result(400, 2, 4) },
    }));
    const comparisons = compareCell(withBaseline, 'raw/legacy/1', ['mcp-proxy', 'portcullis', 'portcullis-baseline']);
    const vsBaseline = comparisons.find(
      (c) => c.label === 'portcullis / portcullis-baseline' && c.metric === 'throughput',
    );
    assert.deepEqual(vsBaseline?.perRound, [1, 1.2, 1.5]);
    assert.ok(comparisons.some((c) => c.label === 'portcullis-baseline / mcp-proxy'));
    assert.ok(!comparisons.some((c) => c.label.startsWith('portcullis-baseline / portcullis')));
  });

  for (const variant of ['portcullis-10k-rules', 'portcullis-noaudit', 'portcullis-notrace']) {
    it(`compares ${variant} with its baseline build, and with the defaults`, () => {
      const baseline = `${variant}-baseline`;
      const withVariant: RoundResults = rounds.map((round) => ({
        'raw/legacy/1': { ...round['raw/legacy/1'], [variant]: result(300, 2, 4), [baseline]: result(250, 2, 4) },
      }));
      const comparisons = compareCell(withVariant, 'raw/legacy/1', ['mcp-proxy', 'portcullis', variant, baseline]);
      const vsBaseline = comparisons.find((c) => c.label === `${variant} / ${baseline}` && c.metric === 'throughput');
      assert.deepEqual(vsBaseline?.perRound, [1.2, 1.2, 1.2]);
      assert.ok(comparisons.some((c) => c.label === `${variant} / portcullis`));
      assert.ok(comparisons.some((c) => c.label === `${baseline} / mcp-proxy`));
      assert.ok(!comparisons.some((c) => c.label.startsWith(`${baseline} / portcullis`)));
      // The defaults are not measured against another configuration's baseline.
      assert.ok(!comparisons.some((c) => c.label === `portcullis / ${baseline}`));
    });
  }

  it('compares the gateway with the bare pass-through as with the other peers', () => {
    const withPassThrough: RoundResults = rounds.map((round) => ({
      'raw/legacy/1': { ...round['raw/legacy/1'], passthrough: result(800, 1, 2) },
    }));
    const comparisons = compareCell(withPassThrough, 'raw/legacy/1', [
      'direct',
      'passthrough',
      'mcp-proxy',
      'portcullis',
    ]);
    const vsPassThrough = comparisons.find((c) => c.label === 'portcullis / passthrough' && c.metric === 'throughput');
    assert.deepEqual(vsPassThrough?.perRound, [0.5, 0.6, 0.75]);
    assert.ok(!comparisons.some((c) => c.label.startsWith('passthrough /')));
  });

  it('compares a variant with a feature off with the defaults too', () => {
    const withVariant: RoundResults = rounds.map((round) => ({
      'raw/legacy/1': { ...round['raw/legacy/1'], 'portcullis-notrace': result(600, 2, 4) },
    }));
    const comparisons = compareCell(withVariant, 'raw/legacy/1', ['mcp-proxy', 'portcullis', 'portcullis-notrace']);
    const vsDefaults = comparisons.find(
      (c) => c.label === 'portcullis-notrace / portcullis' && c.metric === 'throughput',
    );
    assert.deepEqual(vsDefaults?.perRound, [1.5, 1.25, 1]);
    assert.ok(comparisons.some((c) => c.label === 'portcullis-notrace / mcp-proxy'));
    assert.ok(!comparisons.some((c) => c.label.startsWith('portcullis / portcullis-notrace')));
  });

  it('leaves a comparison out when a side is missing', () => {
    assert.deepEqual(compareCell(rounds, 'raw/legacy/1', ['direct']), []);
    assert.deepEqual(compareCell(rounds, 'sdk/legacy/1', ['direct', 'portcullis']), []);
  });

  it('compares one target across two cells round by round', () => {
    const both: RoundResults = [{ a: { portcullis: result(200, 1, 1) }, b: { portcullis: result(100, 1, 1) } }];
    assert.deepEqual(compareCells(both, 'portcullis', 'a', 'b', 'throughput'), [2]);
  });

  it('rotates the target order from round to round', () => {
    assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
    assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
    assert.deepEqual(rotate(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  });

  it("gives each target's medians over the rounds that measured it, the CPU split thread by thread", () => {
    const measured = (throughput: number, cpu: number, main: number, pool: number): LoadResult => ({
      ...result(throughput, throughput / 100, throughput / 50),
      cpuMicrosPerCall: cpu,
      cpuPerCallByThread: { main, v8: 10, pool, other: 0 },
      driverCpuMicrosPerCall: cpu / 5,
    });
    const three: RoundResults = [
      { cell: { portcullis: measured(300, 500, 400, 30), 'mcp-proxy': result(900, 1, 2) } },
      { cell: { portcullis: measured(100, 700, 380, 50) } },
      { cell: { portcullis: measured(200, 600, 420, 40) }, other: { portcullis: measured(5, 5, 5, 5) } },
    ];
    const [portcullis, proxy, ...rest] = targetMedians(three, 'cell');
    assert.deepEqual(rest, []);
    assert.deepEqual(portcullis, {
      cell: 'cell',
      target: 'portcullis',
      rounds: 3,
      throughput: 200,
      p50Ms: 2,
      p99Ms: 4,
      cpuMicrosPerCall: 600,
      // Each kind of thread on its own: the round with the median main thread is not the one with the median pool.
      cpuPerCallByThread: { main: 400, v8: 10, pool: 40, other: 0 },
      driverCpuMicrosPerCall: 120,
    });
    // Measured in one round only, with no CPU figures: none are made up.
    assert.deepEqual(proxy, { cell: 'cell', target: 'mcp-proxy', rounds: 1, throughput: 900, p50Ms: 1, p99Ms: 2 });
    const table = formatMedians(targetMedians(three, 'cell'), 3);
    assert.match(
      table,
      /cell +target +rounds +calls\/s +p50 ms +p99 ms +cpu us\/call +main\/v8\/pool +driver us\/call/,
    );
    assert.match(table, /cell +portcullis +3 +200 +2\.00 +4\.00 +600 +400\/10\/40 +120/);
    assert.match(table, /cell +mcp-proxy +1 +900 +1\.00 +2\.00 +- +- +-/);
    assert.match(table, /of 3\) that measured each target/);
  });

  it('prints every measurement and every comparison', () => {
    const table = formatRounds(rounds, ['raw/legacy/1']);
    for (const text of ['raw/legacy/1', 'direct', 'mcp-proxy', 'portcullis', '400']) assert.ok(table.includes(text));
    // CPU per call, and where a target's process spent it by kind of thread.
    const split = formatRounds(
      [
        {
          cell: {
            portcullis: {
              ...result(400, 2, 4),
              cpuMicrosPerCall: 470,
              cpuPerCallByThread: { main: 352, v8: 98, pool: 12, other: 0 },
              driverCpuMicrosPerCall: 95,
            },
          },
        },
      ],
      ['cell'],
    );
    assert.match(split, /cpu us\/call +main\/v8\/pool +driver us\/call/);
    assert.match(split, /470 +352\/98\/12 +95/);
    const comparisons = formatComparisons(
      compareCell(rounds, 'raw/legacy/1', ['direct', 'mcp-proxy', 'portcullis']),
      3,
    );
    for (const text of ['portcullis / mcp-proxy', 'portcullis / direct', 'added p50 ms', '1.20', '0.80 1.20 2.00'])
      assert.ok(comparisons.includes(text), `missing ${text} in:\n${comparisons}`);
    // Three rounds give no 95% interval; six (the same three twice) give the whole range.
    assert.match(comparisons, /95% interval/);
    assert.match(comparisons, /throughput +1\.20 +- +0\.80 1\.20 2\.00/);
    const twice = formatComparisons(
      compareCell([...rounds, ...rounds], 'raw/legacy/1', ['mcp-proxy', 'portcullis']),
      6,
    );
    assert.match(twice, /throughput +1\.20 +0\.80 to 2\.00 +0\.80 1\.20 2\.00 0\.80 1\.20 2\.00/);
  });
});

describe('bench configuration', () => {
  it('has defaults', () => {
    const config = parseConfig([], {});
    assert.deepEqual(config.sessions, [1, 32]);
    assert.deepEqual(config.targets, ['direct', 'passthrough', 'mcp-proxy', 'portcullis']);
    assert.equal(config.rounds, 3);
    assert.deepEqual(config.drivers, ['raw', 'sdk']);
    assert.deepEqual(config.modes, ['legacy']);
    assert.equal(config.profile, false);
    assert.equal(config.fromSource, false);
    assert.ok(config.out.endsWith('bench/results/latest.json'));
    assert.equal(parseConfig(['--from-source'], {}).fromSource, true);
    assert.deepEqual(config.profileFunctions, []);
    assert.equal(config.startupWarmupCalls, 500);
  });

  it('reads how many calls each target serves after it starts, none with 0', () => {
    assert.equal(parseConfig(['--startup-warmup', '0'], {}).startupWarmupCalls, 0);
    assert.equal(parseConfig([], { BENCH_STARTUP_WARMUP: '800' }).startupWarmupCalls, 800);
    assert.equal(parseConfig(['--startup-warmup', '40'], { BENCH_STARTUP_WARMUP: '800' }).startupWarmupCalls, 40);
    assert.throws(() => parseConfig(['--startup-warmup', 'many'], {}), {
      name: 'BenchUsageError',
      message: /--startup-warmup must be a non-negative integer \(got "many"\)/,
    });
  });

  it('takes the functions a profile gives with their callees, once each, and only with --profile', () => {
    assert.deepEqual(
      parseConfig(['--profile', '--profile-functions', 'toFetchRequest, sealLine,,toFetchRequest'], {})
        .profileFunctions,
      ['toFetchRequest', 'sealLine'],
    );
    assert.throws(() => parseConfig(['--profile-functions', 'sealLine'], {}), /--profile-functions needs --profile/);
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
    assert.equal(parseConfig([], { BENCH_PAYLOAD_BYTES: '4096' }).payloadBytes, 4096);
    assert.equal(parseConfig(['--payload-bytes', '100'], { BENCH_PAYLOAD_BYTES: '4096' }).payloadBytes, 100);
  });

  it('sends the default text, or one of the size asked for', () => {
    assert.equal(parseConfig([], {}).payloadBytes, 16);
    assert.equal(payloadText(16), 'hello portcullis');
    assert.equal(payloadText(5), 'hello');
    const large = payloadText(MAX_PAYLOAD_BYTES);
    assert.equal(Buffer.byteLength(large, 'utf8'), MAX_PAYLOAD_BYTES);
    assert.ok(large.startsWith('hello portcullishello portcullis'));
  });

  it('runs a baseline build beside the gateway only when given one that is built', async () => {
    assert.throws(() => parseConfig(['--targets', 'portcullis-baseline'], {}), /needs --baseline DIR/);
    assert.throws(
      () => parseConfig(['--targets', 'portcullis-10k-rules-baseline'], {}),
      /the portcullis-10k-rules-baseline target needs --baseline DIR/,
    );
    assert.throws(
      () => parseConfig(['--targets', 'portcullis-noaudit,portcullis-noaudit-baseline'], {}),
      /the portcullis-noaudit-baseline target needs --baseline DIR/,
    );
    const checkout = await mkdtemp(path.join(tmpdir(), 'bench-baseline-'));
    try {
      assert.throws(() => parseConfig(['--baseline', checkout], {}), /has no built dist/);
      const main = path.join(checkout, 'dist', 'gateway', 'edges', 'cli', 'main.js');
      await mkdir(path.dirname(main), { recursive: true });
      await writeFile(main, '');
      const config = parseConfig(['--targets', 'portcullis', '--baseline', checkout], {});
      assert.deepEqual(config.targets, ['portcullis', 'portcullis-baseline']);
      assert.equal(config.baseline, checkout);
      // The large policy's baseline named: no one-rule baseline added beside it.
      const large = parseConfig(
        ['--targets', 'portcullis-10k-rules,portcullis-10k-rules-baseline', '--baseline', checkout],
        {},
      );
      assert.deepEqual(large.targets, ['portcullis-10k-rules', 'portcullis-10k-rules-baseline']);
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  });

  it('runs the baseline with Node flags and environment of its own, only beside a baseline', async () => {
    assert.throws(() => parseConfig(['--baseline-node-flags=--use-largepages=on'], {}), /need --baseline DIR/);
    assert.throws(() => parseConfig(['--baseline-env', 'A=1'], {}), /need --baseline DIR/);
    const checkout = await mkdtemp(path.join(tmpdir(), 'bench-baseline-'));
    try {
      const main = path.join(checkout, 'dist', 'gateway', 'edges', 'cli', 'main.js');
      await mkdir(path.dirname(main), { recursive: true });
      await writeFile(main, '');
      const base = ['--targets', 'portcullis', '--baseline', checkout];
      const config = parseConfig(
        [
          ...base,
          '--baseline-node-flags= --use-largepages=on  --max-semi-space-size=32 ',
          '--baseline-env',
          'OTEL_TRACES_SAMPLER=always_off',
          '--baseline-env',
          'EMPTY=',
          '--baseline-env',
          'WITH_EQUALS=a=b',
        ],
        {},
      );
      assert.deepEqual(config.baselineNodeFlags, ['--use-largepages=on', '--max-semi-space-size=32']);
      assert.deepEqual({ ...config.baselineEnv }, { OTEL_TRACES_SAMPLER: 'always_off', EMPTY: '', WITH_EQUALS: 'a=b' });
      const fromEnv = parseConfig(base, { BENCH_BASELINE_NODE_FLAGS: '--no-opt' });
      assert.deepEqual(fromEnv.baselineNodeFlags, ['--no-opt']);
      assert.equal(parseConfig(base, {}).baselineNodeFlags, undefined);
      assert.equal(parseConfig(base, {}).baselineEnv, undefined);
      // A name such as __proto__ is a variable like any other, not the object's prototype.
      assert.deepEqual(Object.keys(parseConfig([...base, '--baseline-env', '__proto__=x'], {}).baselineEnv ?? {}), [
        '__proto__',
      ]);
      assert.throws(() => parseConfig([...base, '--baseline-node-flags', 'use-largepages'], {}), /Node options/);
      assert.throws(() => parseConfig([...base, '--baseline-node-flags=-e'], {}), /Node options/);
      assert.throws(() => parseConfig([...base, '--baseline-env', 'NO_VALUE'], {}), /NAME=VALUE/);
      assert.throws(() => parseConfig([...base, '--baseline-env', '1A=x'], {}), /NAME=VALUE/);
      // The log and the report name the variables, never their values (which may be secrets).
      const secret = parseConfig(
        [...base, '--baseline-node-flags=--no-opt', '--baseline-env', 'OTEL_EXPORTER_OTLP_HEADERS=api-key=s3cr3t'],
        {},
      );
      assert.equal(secret.baselineEnv?.['OTEL_EXPORTER_OTLP_HEADERS'], 'api-key=s3cr3t');
      assert.equal(baselineSettings(secret), ' (--no-opt OTEL_EXPORTER_OTLP_HEADERS=…)');
      assert.deepEqual(reportedConfig(secret).baselineEnv, ['OTEL_EXPORTER_OTLP_HEADERS']);
      assert.ok(!JSON.stringify(reportedConfig(secret)).includes('s3cr3t'));
      assert.equal(baselineSettings(parseConfig(base, {})), '');
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  });

  it('rejects bad values', () => {
    assert.throws(() => parseConfig(['--sessions', '0'], {}), /between 1 and 256/);
    assert.throws(() => parseConfig(['--targets', 'nginx'], {}), /unknown --targets/);
    assert.throws(() => parseConfig(['--calls', 'many'], {}), /non-negative integer/);
    assert.throws(() => parseConfig(['--max-seconds', '0'], {}), /max-seconds/);
    assert.throws(() => parseConfig(['--drivers', 'curl'], {}), /unknown --drivers/);
    assert.throws(() => parseConfig(['--mode', 'future'], {}), /unknown --mode/);
    assert.throws(() => parseConfig(['--rounds', '0'], {}), /rounds/);
    assert.throws(() => parseConfig(['--payload-bytes', '0'], {}), /payload-bytes must be between 1 and 65536/);
    assert.throws(() => parseConfig(['--payload-bytes', '65537'], {}), /the echo tool's limit/);
  });

  it('measures every driver in every era asked for', () => {
    const cells = cellsOf(parseConfig(['--mode', 'legacy,modern', '--sessions', '1'], {}));
    assert.deepEqual(
      cells.map((c) => c.key),
      ['raw/legacy/1', 'raw/modern/1', 'sdk/legacy/1', 'sdk/modern/1'],
    );
  });
});

describe('compiled gateway', () => {
  it('is stale when dist/ is missing or older than a source file, fresh otherwise', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'bench-compiled-'));
    try {
      for (const dir of ['gateway', 'connectors', 'policies', 'examples'])
        await mkdir(path.join(root, dir), { recursive: true });
      await writeFile(path.join(root, 'gateway', 'main.ts'), 'export {};');
      assert.equal(distIsStale(root), true, 'no dist/');
      const built = path.join(root, 'dist', 'gateway', 'edges', 'cli', 'main.js');
      await mkdir(path.dirname(built), { recursive: true });
      await writeFile(built, '');
      const past = new Date(Date.now() - 60_000);
      await utimes(path.join(root, 'gateway', 'main.ts'), past, past);
      assert.equal(distIsStale(root), false, 'dist/ newer than every source');
      await mkdir(path.join(root, 'policies', 'deep'), { recursive: true });
      const future = new Date(Date.now() + 60_000);
      await writeFile(path.join(root, 'policies', 'deep', 'rule.ts'), 'export {};');
      await utimes(path.join(root, 'policies', 'deep', 'rule.ts'), future, future);
      assert.equal(distIsStale(root), true, 'a source changed after the build');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
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

describe('raw driver parsing', () => {
  it('reads JSON-RPC messages from an SSE body and finds the response by id', () => {
    const body =
      'event: message\nid: 1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n' +
      'data: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}\n\n: keep-alive\n\n';
    assert.equal(parseSseMessages(body).length, 2);
    const response = findResponse('text/event-stream', body, 7);
    assert.equal(checkEcho(response, 'hi'), undefined);
    assert.equal(checkEcho(findResponse('text/event-stream', body, 8), 'hi'), 'no response with the request id');
  });

  it('reads a JSON body and reports errors and unexpected results', () => {
    const error = '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad"}}';
    assert.equal(checkEcho(findResponse('application/json', error, 3), 'x'), 'JSON-RPC error -32602: bad');
    const denied =
      '{"jsonrpc":"2.0","id":4,"result":{"isError":true,"content":[{"type":"text","text":"POLICY_DENIED"}]}}';
    assert.equal(checkEcho(findResponse('application/json', denied, 4), 'x'), 'tool error: POLICY_DENIED');
    assert.equal(findResponse('application/json', 'not json', 1), undefined);
  });
});

describe('CPU profile summary', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'decide', url: 'file:///repo/policies/engine.ts', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'parse', url: 'file:///repo/node_modules/zod/index.js', lineNumber: 0 } },
    ],
    startTime: 1000,
    endTime: 2000,
    samples: [2, 2, 3, 2, 1],
    timeDeltas: [100, 100, 100, 100, 100],
  };

  it('charges each sample to its frame and sorts by self time', () => {
    const summary = summarizeProfile(profile, { root: '/repo' });
    assert.equal(summary.totalMs, 0.5);
    assert.equal(summary.frames[0]?.frame, 'decide (policies/engine.ts:10)');
    assert.equal(summary.frames[0]?.share, 0.6);
    assert.ok(summary.frames.some((f) => f.frame === 'parse (zod/index.js:1)'));
    assert.ok(formatProfile(summary).includes('decide'));
  });

  it('charges each sample to whose code it is: the gateway, a package, Node or V8', () => {
    const owned: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'decide', url: 'file:///repo/dist/policies/engine.js', lineNumber: 9 } },
        {
          id: 3,
          callFrame: { functionName: 'parse', url: 'file:///repo/node_modules/zod/v4/core/parse.js', lineNumber: 0 },
        },
        {
          id: 4,
          callFrame: {
            functionName: 'startSpan',
            url: 'file:///repo/node_modules/@opentelemetry/sdk-trace/build/src/Tracer.js',
            lineNumber: 41,
          },
        },
        { id: 5, callFrame: { functionName: 'emit', url: 'node:events', lineNumber: 488 } },
        { id: 6, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
        { id: 7, callFrame: { functionName: 'decide', url: 'file:///other%20checkout/dist/x.js', lineNumber: 1 } },
      ],
      startTime: 0,
      endTime: 1000,
      samples: [2, 2, 7, 3, 4, 4, 5, 6, 1, 1],
      timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
    };
    const summary = summarizeProfile(owned, { root: '/repo' });
    assert.deepEqual(
      summary.owners.map((o) => [o.owner, o.share]),
      [
        ['portcullis', 0.3],
        ['@opentelemetry/sdk-trace', 0.2],
        ['(garbage collector)', 0.2],
        ['zod', 0.1],
        ['node', 0.1],
        ['(native)', 0.1],
      ],
    );
    assert.match(formatProfile(summary), /owner\n +0\.3 +30\.0% +portcullis\n/);
  });

  it('gives every figure per call when told the calls, busy time without the idle samples', () => {
    const withIdle: CpuProfile = {
      ...profile,
      nodes: [...profile.nodes, { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } }],
      samples: [2, 4, 4, 3, 2],
    };
    const summary = summarizeProfile(withIdle, { root: '/repo', calls: 2 });
    assert.equal(summary.calls, 2);
    // 500 µs sampled, 200 of them idle: 300 µs busy over two calls.
    assert.equal(summary.busyMicrosPerCall, 150);
    assert.equal(summary.frames.find((f) => f.frame.startsWith('decide'))?.microsPerCall, 100);
    assert.equal(summary.owners.find((o) => o.owner === 'zod')?.microsPerCall, 50);
    const text = formatProfile(summary, 'portcullis raw/legacy/32');
    assert.match(text, /^portcullis raw\/legacy\/32: 0\.5 ms sampled, 150\.0 µs busy a call over 2 calls/);
    assert.match(text, /µs\/call/);
    assert.match(text, /\n +0\.2 +100\.0 +40\.0% +decide/);
    // Without calls, no per-call figures.
    assert.equal(summarizeProfile(withIdle).busyMicrosPerCall, undefined);
    assert.doesNotMatch(formatProfile(summarizeProfile(withIdle)), /µs/);
  });

  it("sets the main thread's CPU beside its busy time, weighted by each measurement's calls", () => {
    assert.equal(
      mainCpuPerCall([
        { calls: 100, mainMicrosPerCall: 400 },
        { calls: 300, mainMicrosPerCall: 200 },
      ]),
      250,
    );
    // A measurement without the figure (no /proc) leaves it out rather than averaging the others.
    assert.equal(mainCpuPerCall([{ calls: 100, mainMicrosPerCall: 400 }, { calls: 300 }]), undefined);
    assert.equal(mainCpuPerCall([]), undefined);
    const withIdle: CpuProfile = {
      ...profile,
      nodes: [...profile.nodes, { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } }],
      samples: [2, 4, 4, 3, 2],
    };
    const summary = { ...summarizeProfile(withIdle, { root: '/repo', calls: 2 }), mainCpuMicrosPerCall: 120 };
    const text = formatProfile(summary, 'portcullis raw/legacy/32');
    assert.match(text, /150\.0 µs busy a call over 2 calls[^\n]*\n {2}main thread CPU 120\.0 µs a call \(\/proc\)/);
    assert.match(text, /the other 30\.0 µs of busy time it was blocked/);
    // CPU read at or above the sampled busy time (they are measured apart): no wait is claimed.
    assert.doesNotMatch(formatProfile({ ...summary, mainCpuMicrosPerCall: 160 }), /blocked/);
    assert.match(
      formatProfile({ ...summary, mainCpuMicrosPerCall: 160 }),
      /main thread CPU 160\.0 µs a call \(\/proc\)\n/,
    );
    assert.doesNotMatch(formatProfile(summarizeProfile(withIdle, { root: '/repo', calls: 2 })), /main thread CPU/);
  });

  it("gives a named function's time with what it calls, once a sample however often it recurs", () => {
    // root -> run -> seal -> hash, root -> run -> run (recursion) -> hash, root -> other -> hash.
    const tree: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 6] },
        { id: 2, callFrame: { functionName: 'run', url: 'file:///repo/a.js', lineNumber: 0 }, children: [3, 4] },
        { id: 3, callFrame: { functionName: 'seal', url: 'file:///repo/b.js', lineNumber: 0 }, children: [5] },
        { id: 4, callFrame: { functionName: 'run', url: 'file:///repo/a.js', lineNumber: 0 }, children: [7] },
        { id: 5, callFrame: { functionName: 'hash', url: 'node:crypto', lineNumber: 0 } },
        { id: 6, callFrame: { functionName: 'other', url: 'file:///repo/c.js', lineNumber: 0 }, children: [8] },
        { id: 7, callFrame: { functionName: 'hash', url: 'node:crypto', lineNumber: 0 } },
        { id: 8, callFrame: { functionName: 'hash', url: 'node:crypto', lineNumber: 0 } },
      ],
      startTime: 0,
      endTime: 1000,
      // run 100, seal 100, hash under seal 200, hash under run twice 100, hash under other 300, root 200.
      samples: [2, 3, 5, 5, 7, 8, 8, 8, 1, 1],
      timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
    };
    const summary = summarizeProfile(tree, { root: '/repo', calls: 2, inclusive: ['run', 'seal', 'hash', 'absent'] });
    assert.deepEqual(
      summary.inclusive?.map((f) => [f.functionName, f.totalMs, f.share, f.microsPerCall]),
      [
        ['run', 0.5, 0.5, 250],
        ['seal', 0.3, 0.3, 150],
        ['hash', 0.6, 0.6, 300],
        ['absent', 0, 0, 0],
      ],
    );
    assert.match(formatProfile(summary), /function, with what it calls\n +0\.5 +250\.0 +50\.0% +run\n/);
    // A name asked for twice is given once, with its whole time.
    assert.deepEqual(
      summarizeProfile(tree, { inclusive: ['hash', 'hash'] }).inclusive?.map((f) => [f.functionName, f.totalMs]),
      [['hash', 0.6]],
    );
    // Not asked for: no such figures.
    assert.equal(summarizeProfile(tree).inclusive, undefined);
    assert.doesNotMatch(formatProfile(summarizeProfile(tree)), /with what it calls/);
  });

  it('counts only samples inside the given windows', () => {
    // Sample times: 1100, 1200, 1300, 1400, 1500.
    const summary = summarizeProfile(profile, { windows: [{ startUs: 1250, endUs: 1450 }] });
    assert.equal(summary.totalMs, 0.2);
    assert.deepEqual(
      summary.frames.map((f) => f.frame.split(' ')[0]),
      ['parse', 'decide'],
    );
  });

  describe('comparing two profiles', () => {
    const frame = (id: number, functionName: string, url: string) => ({
      id,
      callFrame: { functionName, url, lineNumber: 0 },
    });
    const nodes = [
      frame(1, '(idle)', ''),
      frame(2, 'decide', 'file:///repo/policies/engine.ts'),
      frame(3, 'parse', 'file:///repo/node_modules/zod/index.js'),
      frame(4, 'startSpan', 'file:///repo/node_modules/@opentelemetry/sdk-trace/Tracer.js'),
    ];
    const of = (samples: number[]): CpuProfile => ({
      nodes,
      startTime: 0,
      endTime: samples.length * 100,
      samples,
      timeDeltas: samples.map(() => 100),
    });
    // Before: decide 0.3 ms, parse 0.1, idle 0.1. After: decide 0.2, parse 0.3, startSpan 0.1, idle 0.2.
    const before = of([2, 2, 2, 3, 1]);
    const after = of([2, 2, 3, 3, 3, 4, 1, 1]);

    it('ranks the frames and owners of two whole profiles by how much their self time changed, either way', () => {
      const comparison = compareProfiles(before, after, { root: '/repo' });
      assert.equal(comparison.unit, 'ms');
      assert.deepEqual(
        comparison.frames.map((c) => [c.what.split(' ')[0], c.before, c.after, c.change]),
        [
          ['parse', 0.1, 0.3, 0.2],
          ['(idle)', 0.1, 0.2, 0.1],
          ['decide', 0.3, 0.2, -0.1],
          ['startSpan', 0, 0.1, 0.1],
        ],
      );
      assert.deepEqual(
        comparison.owners.map((c) => [c.what, c.change]),
        [
          ['zod', 0.2],
          ['(idle)', 0.1],
          ['@opentelemetry/sdk-trace', 0.1],
          ['portcullis', -0.1],
        ],
      );
      assert.deepEqual([comparison.beforeBusy, comparison.afterBusy], [0.4, 0.6]);
      assert.equal(compareProfiles(before, of([2, 3]), { top: 1 }).frames.length, 1);
      const text = formatComparison(comparison, 'notrace', 'default');
      assert.match(text, /^before: notrace, 0\.4 ms busy\nafter: {2}default, 0\.6 ms busy\n/);
      assert.match(text, /\n +0\.3 +0\.2 +-0\.1 +decide \(policies\/engine\.ts:1\)\n/);
      // The headings sit over their columns: each ends where the figures below it end.
      const lines = text.split('\n');
      const heading = lines.find((line) => line.endsWith('  frame'))!;
      const row = lines.find((line) => line.endsWith('decide (policies/engine.ts:1)'))!;
      for (const column of ['before', 'after', 'change']) {
        const end = heading.indexOf(column) + column.length;
        assert.match(row.slice(0, end), /\S$/, `the ${column} column`);
        assert.match(row.slice(end, end + 2), /^ {2}$/, `the ${column} column`);
      }
      assert.match(text, /\n +0\.1 +0\.3 +\+0\.2 +zod\n/);
    });

    it('labels each profile from its own checkout, so a function of a baseline build matches its own', () => {
      const built = (root: string): CpuProfile => ({
        nodes: [frame(1, 'seal', `file://${root}/dist/gateway/audit/chain.js`)],
        startTime: 0,
        endTime: 200,
        samples: [1, 1],
        timeDeltas: [100, 100],
      });
      const apart = compareProfiles(built('/prev'), built('/repo'), { root: '/repo' });
      assert.deepEqual(
        apart.frames.map((c) => c.what),
        ['seal (/prev/dist/gateway/audit/chain.js:1)', 'seal (dist/gateway/audit/chain.js:1)'],
      );
      const matched = compareProfiles(built('/prev'), built('/repo'), { root: '/repo', beforeRoot: '/prev' });
      assert.deepEqual(
        matched.frames.map((c) => [c.what, c.before, c.after]),
        [['seal (dist/gateway/audit/chain.js:1)', 0.2, 0.2]],
      );
    });

    it('compares per call when both summaries know their calls', () => {
      const all = { root: '/repo', top: Number.POSITIVE_INFINITY };
      // 200 µs of decide over 2 calls before, 200 µs over 4 calls after: 100 against 50 µs a call.
      const comparison = compareSummaries(
        summarizeProfile(of([2, 2, 1]), { ...all, calls: 2 }),
        summarizeProfile(of([2, 2, 3, 3, 1]), { ...all, calls: 4 }),
      );
      assert.equal(comparison.unit, 'µs/call');
      assert.deepEqual(
        comparison.frames.map((c) => [c.what.split(' ')[0], c.before, c.after, c.change]),
        [
          ['decide', 100, 50, -50],
          ['parse', 0, 50, 50],
          ['(idle)', 50, 25, -25],
        ],
      );
      assert.deepEqual([comparison.beforeBusy, comparison.afterBusy], [100, 100]);
      assert.match(formatComparison(comparison, 'a', 'b'), /^before: a, 100\.0 µs\/call busy\n/);
    });

    it("names a baseline target's files from the baseline checkout, every other target's from this one", () => {
      const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
      assert.equal(checkoutOf('portcullis-baseline', '../prev'), path.resolve('../prev'));
      assert.equal(checkoutOf('portcullis-noaudit-baseline', '/prev'), '/prev');
      assert.equal(checkoutOf('portcullis', '/prev'), here);
      assert.equal(checkoutOf('mcp-proxy', '/prev'), here);
      assert.equal(checkoutOf('portcullis-baseline', undefined), here);
    });

    it('pairs each profiled configuration with its baseline target, cell by cell', () => {
      const all = { root: '/repo', top: Number.POSITIVE_INFINITY, calls: 1 };
      const summaries = new Map([
        [summaryKey('portcullis-baseline', 'raw/legacy/32'), summarizeProfile(before, all)],
        [summaryKey('portcullis', 'raw/legacy/32'), summarizeProfile(after, all)],
        [summaryKey('portcullis', 'raw/modern/32'), summarizeProfile(after, all)],
        [summaryKey('portcullis-noaudit', 'raw/legacy/32'), summarizeProfile(after, all)],
        [summaryKey('mcp-proxy', 'raw/legacy/32'), summarizeProfile(before, all)],
      ]);
      const changes = baselineProfileChanges(
        summaries,
        ['mcp-proxy', 'portcullis', 'portcullis-baseline', 'portcullis-noaudit'],
        ['raw/legacy/32', 'raw/modern/32'],
      );
      // Only the pair both of whose profiles the cell has; nothing for a configuration without its baseline.
      assert.deepEqual(
        changes.map((c) => [c.cell, c.before, c.after]),
        [['raw/legacy/32', 'portcullis-baseline', 'portcullis']],
      );
      assert.deepEqual(
        changes[0]?.comparison,
        compareSummaries(summarizeProfile(before, all), summarizeProfile(after, all), { top: 20 }),
      );
    });
  });
});

describe('soak reference reading', () => {
  it('compares against the reading at 20% of the run (minute 2 of 10)', () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ atSeconds: (i + 1) * 60 }));
    assert.equal(referenceSample(samples, 600).atSeconds, 120);
    const short = Array.from({ length: 6 }, (_, i) => ({ atSeconds: (i + 1) * 10 }));
    assert.equal(referenceSample(short, 60).atSeconds, 20);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { asksForHelp, isUsageError, usageErrorText } from './command.js';
import { BenchUsageError, positiveNumber, portNumber } from './options.js';

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.dirname(BENCH);

/** Every script in bench/ (the commands; their tests and bench/lib/ are not). */
const SCRIPTS = readdirSync(BENCH)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
  .sort();

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node --import tsx bench/<script> ...args`, from the repository's root, to its end. */
async function runScript(script: string, args: readonly string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join('bench', script), ...args],
      { cwd: ROOT, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `work` over `items`, at most `limit` at a time, results in the items' order. */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function assertUsageError(outcome: Outcome, script: string, message: RegExp): void {
  const where = `bench/${script}`;
  assert.equal(outcome.code, 2, `${where}: exit code (stderr: ${outcome.stderr})`);
  assert.equal(outcome.stdout, '', `${where}: nothing on standard output`);
  const lines = outcome.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, new RegExp(`^bench/${script.replace('.', '\\.')}: `), where);
  assert.match(lines[0]!, message, where);
  assert.equal(lines.at(-1), `bench/${script} --help prints its usage`, where);
  assert.ok(
    lines.length <= 4 && !lines.some((line) => /^\s+at /.test(line)),
    `${where}: what is wrong and the pointer to --help, no stack trace:\n${outcome.stderr}`,
  );
}

describe('bench scripts as commands', () => {
  it('finds the scripts', () => {
    for (const script of ['run.ts', 'soak.ts', 'gc-trace.ts', 'profile-summary.ts', 'policy-bench.ts'])
      assert.ok(SCRIPTS.includes(script), script);
  });

  it('--help prints each script’s usage and runs nothing', async () => {
    const outcomes = await inBatches(SCRIPTS, 4, (script) => runScript(script, ['--help']));
    SCRIPTS.forEach((script, i) => {
      const outcome = outcomes[i]!;
      assert.equal(outcome.code, 0, `bench/${script} --help: ${outcome.stderr}`);
      assert.ok(
        outcome.stdout.startsWith(`usage: node --import tsx bench/${script}`),
        `bench/${script} --help:\n${outcome.stdout}`,
      );
      // Anything a run prints (a rebuild of dist/, a measurement) would be more than the usage.
      assert.equal(outcome.stderr, '', `bench/${script} --help wrote to standard error`);
      assert.ok(outcome.stdout.split('\n').length <= 16, `bench/${script} --help printed more than its usage`);
    });
  });

  it('refuses an unknown option, exit 2, with no stack trace', async () => {
    const outcomes = await inBatches(SCRIPTS, 4, (script) => runScript(script, ['--no-such-option']));
    SCRIPTS.forEach((script, i) => assertUsageError(outcomes[i]!, script, /Unknown option '--no-such-option'/));
  });

  it('refuses a value it cannot take, exit 2, with no stack trace', async () => {
    const cases: [script: string, args: string[], message: RegExp][] = [
      ['run.ts', ['--rounds', '0'], /--rounds must be between 1 and 50/],
      ['run.ts', ['--targets', 'nginx'], /unknown --targets value nginx/],
      ['gc-trace.ts', ['--calls', 'ten'], /--calls must be a positive integer \(got "ten"\)/],
      ['heap-sample.ts', ['--mode', 'old'], /unknown --mode value old/],
      ['soak.ts', ['--interval-seconds', '900', '--minutes', '10'], /--interval-seconds must be at most the run/],
      ['soak.ts', ['--minutes=-1'], /--minutes must be a positive number \(got "-1"\)/],
      ['soak.ts', ['--minutes', '-1'], /Option '--minutes' argument is ambiguous/],
      ['idle-sessions.ts', ['--settle-seconds', 'soon'], /--settle-seconds must be a number of seconds/],
      ['cold-start.ts', ['--runs', '0'], /--runs must be a positive integer/],
      ['profile-summary.ts', [], /no profile given/],
      ['profile-summary.ts', ['--top', '0', 'x.cpuprofile'], /--top must be a positive integer/],
      ['profile-summary.ts', ['--compare', 'x.cpuprofile'], /--compare takes two profiles/],
      ['profile-summary.ts', ['--before-root', '.', 'x.cpuprofile'], /--before-root goes with --compare/],
      [
        'profile-summary.ts',
        ['--compare', '--functions', 'f', 'a.cpuprofile', 'b.cpuprofile'],
        /--functions does not go/,
      ],
      ['collector-down.ts', ['--sessions', '1.5'], /--sessions must be a positive integer/],
      ['openapi-startup-bench.ts', ['--runs', ''], /--runs must be a positive integer/],
      ['span-cost-bench.ts', ['--child', 'both'], /--child is sdk or no-sdk/],
      ['echo-server.ts', ['--http', '--port', '70000'], /--port must be a port, 0 to 65535/],
      ['passthrough.ts', [], /--upstream is required/],
      ['passthrough.ts', ['--upstream', 'https://example.test/'], /--upstream: the upstream must be an http: origin/],
      ['sync-write-bench.ts', ['/tmp', '/var/tmp'], /one folder at most/],
      ['policy-bench.ts', ['10000'], /Unexpected argument '10000'/],
    ];
    const outcomes = await inBatches(cases, 4, ([script, args]) => runScript(script, args));
    cases.forEach(([script, , message], i) => assertUsageError(outcomes[i]!, script, message));
  });
});

describe('a bench script started through another path', () => {
  it('knows itself through a symbolic link whose path has a space', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis bench '));
    try {
      await symlink(ROOT, path.join(dir, 'checkout'));
      const script = path.join(dir, 'checkout', 'bench', 'credentials-bench.ts');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--help'], {
        cwd: ROOT,
      });
      assert.ok(stdout.startsWith('usage: node --import tsx bench/credentials-bench.ts'), stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the command-line helpers', () => {
  it('asks for help only before a --, whose arguments belong to someone else', () => {
    assert.equal(asksForHelp(['--help']), true);
    assert.equal(asksForHelp(['--runs', '3', '-h']), true);
    assert.equal(asksForHelp(['--runs', '3']), false);
    assert.equal(asksForHelp(['--', '--help']), false, 'cold-start.ts -- --help times `portcullis --help`');
    assert.equal(asksForHelp(['--ready', '--', 'demo', '-h']), false);
  });

  it('tells usage errors from failures', () => {
    assert.equal(isUsageError(new BenchUsageError('--x is wrong')), true);
    const parseError = Object.assign(new TypeError("Unknown option '--x'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
    assert.equal(isUsageError(parseError), true);
    assert.equal(isUsageError(Object.assign(new Error('no'), { code: 'ENOENT' })), false);
    assert.equal(isUsageError(new RangeError('a bug')), false);
    assert.equal(isUsageError('text'), false);
  });

  it('reports a usage error and where the usage is', () => {
    assert.equal(
      usageErrorText('bench/run.ts', new BenchUsageError('--rounds must be between 1 and 50')),
      'bench/run.ts: --rounds must be between 1 and 50\nbench/run.ts --help prints its usage\n',
    );
  });

  it('reads numbers and ports strictly', () => {
    assert.equal(positiveNumber('minutes', '0.5'), 0.5);
    for (const bad of ['0', '-2', '', ' ', 'Infinity', 'NaN', 'soon'])
      assert.throws(() => positiveNumber('minutes', bad), BenchUsageError, bad);
    assert.equal(portNumber('port', '0'), 0);
    assert.equal(portNumber('port', '65535'), 65_535);
    for (const bad of ['-1', '65536', '80.5', '', 'http'])
      assert.throws(() => portNumber('port', bad), BenchUsageError);
  });
});

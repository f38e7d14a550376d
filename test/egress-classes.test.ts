/**
 * One end-to-end case per address class, through real gateways and real backends, inside a network
 * namespace this test creates (`unshare -n`; needs root): private, link-local, metadata and the other
 * addresses exist only on that namespace's loopback, so no packet can leave the machine.
 * The work runs in test/fixtures/egress-classes-netns.ts; this file asserts on what it reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

type Outcome = { code: string; hits: number };
type Results = Record<'unnamed' | 'named', Record<string, Outcome>>;

const denied: Outcome = { code: 'EGRESS_DENIED', hits: 0 };
const reached: Outcome = { code: 'ok', hits: 1 };

describe('address classes end to end (network namespace)', () => {
  let results: Results;

  before(async () => {
    const { stdout } = await run(
      'unshare',
      ['-n', '--', process.execPath, '--import', 'tsx', path.join(here, 'fixtures/egress-classes-netns.ts')],
      { cwd: path.join(here, '..'), timeout: 120_000 },
    );
    results = JSON.parse(stdout.trim().split('\n').at(-1)!) as Results;
  });

  for (const cls of ['loopback', 'private', 'link-local', 'metadata', 'cgnat', 'unique-local', 'reserved']) {
    it(`${cls}: denied while nothing names it, nothing reaches the backend`, () => {
      assert.deepEqual(results.unnamed[cls], denied);
    });
  }
  for (const cls of ['loopback', 'private', 'link-local', 'cgnat', 'unique-local', 'reserved']) {
    it(`${cls}: reached once the connector names the class`, () => {
      assert.deepEqual(results.named[cls], reached);
    });
  }
  it('metadata: a deny rule on the class wins over the connector naming it', () => {
    assert.deepEqual(results.named['metadata'], denied);
  });
  it('public: reached without naming anything', () => {
    assert.deepEqual(results.unnamed['public'], reached);
    assert.deepEqual(results.named['public'], reached);
  });

  it('an IPv4-mapped spelling is judged as the IPv4 address: denied unnamed, reached when its IPv4 range is named', () => {
    assert.deepEqual(results.unnamed['mapped-private'], denied);
    assert.deepEqual(results.named['mapped-private'], reached);
  });
  it('NAT64 and 6to4 spellings: a rule naming the IPv6 prefix does not open what is behind it', () => {
    assert.deepEqual(results.unnamed['nat64-metadata'], denied);
    assert.deepEqual(results.named['nat64-metadata'], denied);
    assert.deepEqual(results.unnamed['sixtofour-private'], denied);
    assert.deepEqual(results.named['sixtofour-private'], denied);
  });
});

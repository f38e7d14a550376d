import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { createLiveList, DictionaryMap } from './call-registries.js';

const PROBE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'test',
  'fixtures',
  'registry-promotion-probe.ts',
);

describe('LiveList', () => {
  it('adds and removes entries, each once, and says what it holds', () => {
    const list = createLiveList<string>();
    assert.equal(list.size, 0);
    assert.equal(list.only(), undefined);
    const removeA = list.add('a');
    assert.equal(list.only(), 'a');
    const removeB = list.add('b');
    const removeA2 = list.add('a');
    assert.equal(list.size, 3);
    assert.equal(list.only(), undefined);
    assert.ok(list.has('a') && list.has('b') && !list.has('c'));
    removeA();
    removeA();
    assert.equal(list.size, 2, 'a second call of a remover removes nothing');
    assert.ok(list.has('a'), 'the other entry of the same value stays');
    removeA2();
    assert.ok(!list.has('a'));
    assert.equal(list.only(), 'b');
    removeB();
    assert.equal(list.size, 0);
    assert.equal(list.only(), undefined);
  });

  it('removes from the head, the middle and the tail alike', () => {
    for (const order of [
      [0, 1, 2],
      [1, 0, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const list = createLiveList<number>();
      const removers = [0, 1, 2].map((n) => list.add(n));
      const left = new Set([0, 1, 2]);
      for (const n of order) {
        removers[n]!();
        left.delete(n);
        assert.equal(list.size, left.size);
        for (const m of [0, 1, 2]) assert.equal(list.has(m), left.has(m), `order ${order.join()} after ${n}`);
      }
    }
  });

  it('takes every entry at once, and removers of taken entries do nothing', () => {
    const list = createLiveList<string>();
    const removeA = list.add('a');
    list.add('b');
    assert.deepEqual(list.takeAll().sort(), ['a', 'b']);
    assert.equal(list.size, 0);
    removeA();
    assert.equal(list.size, 0);
    list.add('c');
    assert.deepEqual(list.takeAll(), ['c']);
  });
});

describe('DictionaryMap', () => {
  it('is a Map of string and number keys, where 1 and "1" differ', () => {
    const map = new DictionaryMap<string | number, string>();
    assert.equal(map.set(1, 'number'), map);
    map.set('1', 'string');
    map.set('__proto__', 'proto');
    map.set('constructor', 'ctor');
    assert.equal(map.size, 4);
    assert.equal(map.get(1), 'number');
    assert.equal(map.get('1'), 'string');
    assert.equal(map.get('__proto__'), 'proto');
    assert.equal(map.get('constructor'), 'ctor');
    assert.equal(map.get(2), undefined);
    assert.ok(map.has(1) && map.has('1') && !map.has('toString'));
    map.set(1, 'again');
    assert.equal(map.size, 4);
    assert.equal(map.get(1), 'again');
    assert.ok(map.delete(1));
    assert.ok(!map.delete(1));
    assert.equal(map.size, 3);
    assert.ok(!map.has(1) && map.has('1'));
    assert.equal(Object.prototype.toString.call(map), '[object DictionaryMap]');
  });

  it('answers as a Map does for keys of every kind, through adds, updates and removals', () => {
    // Array indices and the numbers that are not (negative, fractional, past 2^32 - 2, NaN, the
    // infinities), the strings of the same digits, and strings that look like the map's own slots.
    const keys: (string | number)[] = [
      0,
      -0,
      1,
      7,
      -1,
      1.5,
      2 ** 32 - 2,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53,
      NaN,
      Infinity,
      -Infinity,
      '0',
      '1',
      '-1',
      '4294967294',
      '',
      'n1',
      's1',
      'NaN',
      '__proto__',
      'constructor',
    ];
    const map = new DictionaryMap<string | number, number>();
    const reference = new Map<string | number, number>();
    let seed = 7;
    const random = (below: number): number => (seed = (seed * 48271) % 2147483647) % below;
    const sortedEntries = (entries: Iterable<[string | number, number]>): string[] =>
      [...entries].map(([key, value]) => `${typeof key}:${Object.is(key, -0) ? '-0' : String(key)}=${value}`).sort();
    for (let step = 0; step < 3000; step++) {
      const key = keys[random(keys.length)]!;
      const operation = random(3);
      if (operation === 0) assert.equal(map.set(key, step), map);
      else if (operation === 1) assert.equal(map.delete(key), reference.delete(key), `delete ${String(key)}`);
      if (operation === 0) reference.set(key, step);
      assert.equal(map.get(key), reference.get(key), `get ${String(key)} at step ${step}`);
      assert.equal(map.has(key), reference.has(key), `has ${String(key)} at step ${step}`);
      assert.equal(map.size, reference.size);
    }
    assert.deepEqual(sortedEntries(map), sortedEntries(reference));
  });

  it('serves ids counted up for as long as a client counts, with few of them open at a time', () => {
    const map = new DictionaryMap<number, { id: number }>();
    for (let id = 1; id <= 20_000; id++) {
      map.set(id, { id });
      if (id > 32) assert.ok(map.delete(id - 32));
      assert.equal(map.get(id)?.id, id);
    }
    assert.equal(map.size, 32);
    assert.deepEqual(
      [...map.keys()].sort((a, b) => a - b),
      Array.from({ length: 32 }, (_, i) => 19_969 + i),
    );
    assert.ok(!map.has(19_968) && map.get(1) === undefined);
  });

  it('keeps an entry whose value is undefined', () => {
    const map = new DictionaryMap<string, undefined>();
    map.set('k', undefined);
    assert.ok(map.has('k'));
    assert.equal(map.size, 1);
    assert.deepEqual([...map.keys()], ['k']);
  });

  it('iterates its entries, undisturbed by entries the loop deletes or adds', () => {
    const map = new DictionaryMap<number, string>();
    for (let i = 0; i < 5; i++) map.set(i, `v${i}`);
    const seen: number[] = [];
    for (const [key, value] of map) {
      assert.equal(value, `v${key}`);
      seen.push(key);
      map.delete(key + 1);
      map.set(key + 100, 'added');
    }
    assert.ok(
      seen.every((key) => key < 5 && (key === 0 || !seen.includes(key - 1))),
      `saw ${seen.join()}`,
    );
    assert.deepEqual(new Set(map.keys()).size, map.size);
    assert.deepEqual([...map.values()].length, map.size);
    const forEach: [number, string, unknown][] = [];
    const self = {};
    map.forEach(function (this: unknown, value, key, owner) {
      assert.equal(owner, map);
      forEach.push([key, value, this]);
    }, self);
    assert.equal(forEach.length, map.size);
    assert.ok(forEach.every(([, , thisArg]) => thisArg === self));
    map.clear();
    assert.equal(map.size, 0);
    assert.deepEqual([...map.entries()], []);
  });

  it('stops iterating when the loop clears it, as a Map does', () => {
    const map = new DictionaryMap<string | number, string>();
    for (const key of [1, 2, 3, 'a', 'b']) map.set(key, String(key));
    const seen: (string | number)[] = [];
    for (const [key] of map) {
      seen.push(key);
      map.clear();
    }
    assert.equal(seen.length, 1);
    assert.equal(map.size, 0);
  });
});

/** Bytes the young-generation collections promoted in a run of the probe, from V8's trace. */
async function promotedBy(registry: string, calls = 4000): Promise<{ promoted: number; calls: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--max-semi-space-size=16', '--trace-gc-nvp', '--import', 'tsx', PROBE],
    {
      env: { ...process.env, REGISTRY: registry, CONCURRENCY: '32', CALLS: String(calls) },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  let promoted = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes('gc=s ')) continue;
    promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { promoted, calls: Number(/^calls (\d+)$/m.exec(stdout)?.[1]) };
}

describe('per-call registries under load', () => {
  // Each call's objects (about 20 KB) live for a few turns; 4,000 calls, 32 at a time, after a quiet spell
  // in which a registry's own storage is promoted. A registry whose dead tables stay reachable promotes
  // nearly every call's objects that pass through it (about 80 MB); one that does not promotes what
  // happened to be in flight in the quiet spell and little else.
  let control = 0;
  before(async () => {
    const map = await promotedBy('map');
    assert.equal(map.calls, 4000);
    control = map.promoted;
  });

  it('a Map used as one promotes the objects of most calls (the control the others are held to)', () => {
    assert.ok(control > 30 * 1024 * 1024, `promoted only ${control} bytes`);
  });

  for (const registry of ['in-flight', 'drain', 'dictionary']) {
    it(`${registry}: a call's objects die young`, async () => {
      const { promoted, calls } = await promotedBy(registry);
      assert.equal(calls, 4000);
      assert.ok(promoted < control / 4, `promoted ${promoted} bytes, the Map ${control}`);
    });
  }

  it("session-dictionaries: what a session's registry promotes does not grow with its requests", async () => {
    // Sessions of 100 requests each, ids counted from 1: four times the requests, four times the sessions.
    // A registry whose own storage is reallocated as its ids grow promotes that storage with every session
    // (about 8 MB more over the longer run); one that is not promotes what was in flight in the quiet spell.
    const shorter = await promotedBy('session-dictionaries', 4000);
    const longer = await promotedBy('session-dictionaries', 16_000);
    assert.equal(longer.calls, 16_000);
    assert.ok(
      longer.promoted < shorter.promoted + 2 * 1024 * 1024,
      `promoted ${longer.promoted} bytes over 16,000 requests, ${shorter.promoted} over 4,000`,
    );
  });
});

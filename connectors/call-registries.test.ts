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
});

/** Bytes the young-generation collections promoted in a run of the probe, from V8's trace. */
async function promotedBy(registry: string): Promise<{ promoted: number; calls: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--max-semi-space-size=16', '--trace-gc-nvp', '--import', 'tsx', PROBE],
    {
      env: { ...process.env, REGISTRY: registry, CONCURRENCY: '32', CALLS: '4000' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  let promoted = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes('gc=s ')) continue;
    promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  const calls = Number(/^calls (\d+)$/m.exec(stdout)?.[1]);
  return { promoted, calls };
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
});

/**
 * The stores' per-call reads on a real Redis: each is one command (a script read by its digest), returns its
 * data with the store's epoch as the script read them, tells a missing epoch from an absent one, and fails
 * rather than answers "absent" when a key holds something else. Counted on the client: the commands it sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { StoreEpoch } from '../gateway/stores/redis-epoch.js';
import { readFlag, readTaskRecord } from '../gateway/stores/redis-reads.js';
import { StoreUnavailableError } from '../gateway/services/tasks/index.js';
import { createRedisRevocationStore } from '../gateway/stores/redis-revocation-store.js';
import { createRedisTaskStore } from '../gateway/stores/redis-task-store.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

describe('Redis reads of the task and revocation stores', () => {
  const prefix = freshPrefix();
  const key = (name: string) => `${prefix}${name}`;
  let redis: Redis;
  /** The names of the commands the client sent since the last call. */
  let sent: string[] = [];

  before(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
    await redis.hset(key('task'), 'agentId', 'a1', 'intent', 'x');
    await redis.sadd(key('labels'), 'pii', 'finance');
    await redis.set(key('epoch'), 'e-1');
    await redis.set(key('flag'), '1');
    await redis.set(key('not-a-hash'), 'text');
  });
  after(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  const read = async <T>(run: () => Promise<T>): Promise<{ value: T; commands: string[] }> => {
    sent = [];
    const value = await run();
    return { value, commands: sent };
  };

  it("reads a task's hash and labels with the epoch, in one command", async () => {
    await read(() => readTaskRecord(redis, key('task'), key('labels'), { epochKey: key('epoch') })); // the script loaded
    const { value, commands } = await read(() =>
      readTaskRecord(redis, key('task'), key('labels'), { epochKey: key('epoch') }),
    );
    assert.deepEqual(commands, ['evalsha']);
    assert.deepEqual({ ...value.value.hash }, { agentId: 'a1', intent: 'x' });
    assert.deepEqual([...value.value.labels].sort(), ['finance', 'pii']);
    assert.equal(value.epoch, 'e-1');
  });

  it('reads an unknown task as an empty hash, a missing epoch as null, and no epoch when none is asked', async () => {
    const missing = await readTaskRecord(redis, key('no-task'), key('no-labels'), { epochKey: key('no-epoch') });
    assert.deepEqual([Object.keys(missing.value.hash), missing.value.labels, missing.epoch], [[], [], null]);
    const without = await readTaskRecord(redis, key('task'), key('labels'));
    assert.equal('epoch' in without, false);
    assert.equal(without.value.hash['agentId'], 'a1');
  });

  it('reads whether a key exists with the epoch, in one command', async () => {
    await read(() => readFlag(redis, key('flag'), key('epoch')));
    const set = await read(() => readFlag(redis, key('flag'), key('epoch')));
    assert.deepEqual(set.commands, ['evalsha']);
    assert.deepEqual(set.value, { value: true, epoch: 'e-1' });
    assert.deepEqual(await readFlag(redis, key('unset'), key('epoch')), { value: false, epoch: 'e-1' });
    assert.deepEqual(await readFlag(redis, key('flag'), key('no-epoch')), { value: true, epoch: null });
    assert.deepEqual(await readFlag(redis, key('unset')), { value: false });
  });

  it('loads a script again when the server has forgotten it', async () => {
    await redis.script('FLUSH');
    assert.deepEqual(await readFlag(redis, key('flag'), key('epoch')), { value: true, epoch: 'e-1' });
    const task = await readTaskRecord(redis, key('task'), key('labels'), { epochKey: key('epoch') });
    assert.deepEqual([task.value.hash['agentId'], task.epoch], ['a1', 'e-1']);
  });

  it("the stores read a task, an agent's flag and a revocation in one command each, handing the epoch on", async () => {
    const confirmed: (string | null)[] = [];
    const epoch = { key: key('epoch'), confirm: (value: string | null) => void confirmed.push(value) } as StoreEpoch;
    const tasks = createRedisTaskStore({ redis, prefix: key('store:'), epoch });
    const revocation = createRedisRevocationStore({ redis, prefix: key('store:'), tasks, epoch });
    const now = Date.now();
    await tasks.create({ id: 't1', agentId: 'a1', intent: 'x', createdAt: now, expiresAt: now + 60_000 });
    await revocation.disableAgent('a2');
    await tasks.get('t1'); // the scripts loaded
    await revocation.isAgentDisabled('a1');
    confirmed.length = 0;
    const task = await read(() => tasks.get('t1'));
    assert.deepEqual([task.value?.agentId, task.value?.labelsRead, task.commands], ['a1', [], ['evalsha']]);
    await tasks.getAndCountCall('t1'); // the script loaded
    const counting = await read(() => tasks.getAndCountCall('t1'));
    assert.deepEqual([counting.value?.callCount, counting.commands], [2, ['evalsha']]);
    const disabled = await read(() => revocation.isAgentDisabled('a2'));
    assert.deepEqual([disabled.value, disabled.commands], [true, ['evalsha']]);
    const revoked = await read(() => revocation.isJtiRevoked('j1'));
    assert.deepEqual([revoked.value, revoked.commands], [false, ['evalsha']]);
    assert.deepEqual(confirmed, ['e-1', 'e-1', 'e-1', 'e-1', 'e-1']);
    await redis.del(key('epoch'));
    assert.equal(await tasks.get('no-such-task'), undefined);
    assert.equal(await tasks.getAndCountCall('no-such-task'), undefined);
    assert.equal(await revocation.isAgentDisabled('a1'), false);
    assert.deepEqual(confirmed.slice(5), [null, null, null], 'a missing epoch reaches the epoch, which refuses');
    await redis.set(key('epoch'), 'e-1');
  });

  it('reads a task and counts a call on it in one command, only while the task is live', async () => {
    const at = Date.now();
    await redis.hset(key('counted'), 'agentId', 'a1', 'intent', 'x', 'expiresAt', String(at + 1), 'callCount', '4');
    await readTaskRecord(redis, key('counted'), key('labels'), { epochKey: key('epoch'), countCallAt: at }); // the script loaded
    const counted = await read(() =>
      readTaskRecord(redis, key('counted'), key('labels'), { epochKey: key('epoch'), countCallAt: at }),
    );
    assert.deepEqual(counted.commands, ['evalsha']);
    assert.deepEqual([counted.value.value.hash['callCount'], counted.value.epoch], ['6', 'e-1'], 'the hash shows it');
    const atExpiry = await readTaskRecord(redis, key('counted'), key('labels'), {
      epochKey: key('epoch'),
      countCallAt: at + 1,
    });
    assert.equal(atExpiry.value.hash['callCount'], '6', 'an expired task is not counted');
    await redis.hset(key('counted'), 'endedAt', String(at));
    const ended = await readTaskRecord(redis, key('counted'), key('labels'), { countCallAt: at });
    assert.deepEqual([ended.value.hash['callCount'], 'epoch' in ended], ['6', false], 'nor an ended one');
    const unknown = await readTaskRecord(redis, key('no-such-task'), key('no-labels'), {
      epochKey: key('epoch'),
      countCallAt: at,
    });
    assert.deepEqual(Object.keys(unknown.value.hash), []);
    assert.equal(await redis.exists(key('no-such-task')), 0, 'counting an unknown task makes none');
    await assert.rejects(
      readTaskRecord(redis, key('not-a-hash'), key('labels'), { epochKey: key('epoch'), countCallAt: at }),
      /WRONGTYPE/,
    );
  });

  it('refuses a reply of another shape, as from something between the gateway and Redis', async () => {
    const answering = (reply: unknown) =>
      ({
        defineCommand: () => undefined,
        portcullisReadTask: async () => reply,
        portcullisReadTaskCounting: async () => reply,
        portcullisReadFlag: async () => reply,
      }) as unknown as Redis;
    for (const reply of [null, 'OK', [], [1], [2, 'e'], [1, 7], ['1', 'e']]) {
      await assert.rejects(readFlag(answering(reply), 'k', 'e'), StoreUnavailableError, JSON.stringify(reply));
    }
    for (const reply of [null, [[], []], [['a'], [], 'e'], [[], [1], 'e'], [[], [], 3], [{}, [], 'e']]) {
      for (const countCallAt of [undefined, 1]) {
        await assert.rejects(
          readTaskRecord(answering(reply), 'h', 'l', { epochKey: 'e', countCallAt }),
          StoreUnavailableError,
          JSON.stringify(reply),
        );
      }
    }
    assert.deepEqual(await readFlag(answering([1, null]), 'k', 'e'), { value: true, epoch: null });
  });

  it('fails, never reads as absent, when a task key holds something else', async () => {
    await assert.rejects(
      readTaskRecord(redis, key('not-a-hash'), key('labels'), { epochKey: key('epoch') }),
      /WRONGTYPE/,
    );
  });
});

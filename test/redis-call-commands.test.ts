/**
 * What a call in a 2025 session sends to Redis, watched with `MONITOR` on the real server: with an API key,
 * two commands, the agent's disabled flag and the task read that counts the call in the same script; a call
 * under an ended task is refused with nothing reaching the backend and is not counted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startHttpBackend, TEXT_TOOL, type HttpBackend } from './fixtures/http-backend.js';
import { eventually } from './helpers/eventually.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

describe("a 2025 session's call on Redis stores", () => {
  const prefix = freshPrefix();
  let backend: HttpBackend;
  let gw: TestGateway;
  let redis: Redis;
  let monitor: Awaited<ReturnType<Redis['monitor']>>;
  /** The commands clients sent that name one of this test's keys, as MONITOR reported them. */
  const seen: string[][] = [];

  before(async () => {
    backend = await startHttpBackend();
    redis = new Redis(REDIS_URL);
    monitor = await redis.monitor();
    // What a script runs is reported too, from the source `lua`: only the commands clients sent are kept.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(prefix))) seen.push(args);
    });
    gw = await startTestGateway(
      {
        connectors: [{ id: 'api', kind: 'http', baseUrl: backend.url, tools: [TEXT_TOOL] }],
        egress: { connectors: { api: { allowPrivate: ['127.0.0.1/32'] } } },
        stores: { kind: 'redis', url: REDIS_URL, prefix },
      },
      [{ id: 'bot', tools: ['api_*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    monitor?.disconnect();
    redis?.disconnect();
    await deleteKeys(prefix);
  });

  /**
   * The commands `run` made Redis run: those seen before a marker read sent after `run` settled, which Redis
   * runs after anything the gateway sent before it answered.
   */
  async function commandsOf(run: () => Promise<unknown>): Promise<string[][]> {
    seen.length = 0;
    await run();
    const marker = `${prefix}marker:${randomUUID()}`;
    await redis.get(marker);
    await eventually(() => seen.some((args) => args.includes(marker)), 'the marker read');
    return seen.slice(
      0,
      seen.findIndex((args) => args.includes(marker)),
    );
  }

  const taskKeyOf = (args: string[]) => args.find((arg) => /:task:[^:]+$/.test(arg));
  const texts = () => backend.requests.filter((r) => r.url === '/text').length;

  it('sends the flag and one task read that counts the call; an ended task is refused, uncounted', async () => {
    const client = await gw.connect('bot');
    assert.equal((await client.callTool({ name: 'api_text', arguments: {} })).isError, undefined);
    for (let call = 2; call <= 3; call += 1) {
      const commands = await commandsOf(() => client.callTool({ name: 'api_text', arguments: {} }));
      assert.deepEqual(
        commands.map((args) => args[0]?.toLowerCase()),
        ['evalsha', 'evalsha'],
        JSON.stringify(commands),
      );
      assert.ok(
        commands[0]?.some((arg) => arg.endsWith(':disabled:agent:bot')),
        'the flag first',
      );
      const taskKey = taskKeyOf(commands[1] ?? []);
      assert.ok(taskKey !== undefined, 'then the task');
      assert.equal(await redis.hget(taskKey, 'callCount'), String(call), 'counted by that read');
    }
    const [, taskRead] = await commandsOf(() => client.callTool({ name: 'api_text', arguments: {} }));
    const taskKey = taskKeyOf(taskRead ?? []) ?? assert.fail('a task read');
    await gw.gateway.stores.tasks.end(taskKey.slice(taskKey.lastIndexOf(':') + 1), 'ended for the test');
    const reached = texts();
    const refused = await client.callTool({ name: 'api_text', arguments: {} });
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /TASK_ENDED/);
    assert.equal(texts(), reached, 'nothing reached the backend');
    assert.equal(await redis.hget(taskKey, 'callCount'), '4', 'the refused call is not counted');
  });
});

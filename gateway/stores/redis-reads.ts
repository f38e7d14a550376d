/**
 * The per-call reads of the task and revocation stores, each one script: its data and the store's epoch
 * (redis-epoch.ts) read atomically, as a MULTI would, but as one command with one reply. A MULTI of two reads
 * is four commands and four replies for the client to build and parse (`MULTI`, the reads, `EXEC`), which
 * cost two to three times the client's CPU of the script on every call. ioredis sends a script by its
 * digest (`EVALSHA`) and by its text once the server does not know it (after a restart, say).
 *
 * The epoch key is the last key and optional: without it the reply has no epoch member.
 *
 * A task read can also count a call on the task (`countCallAt`): when the task is live at that instant (not
 * ended, `expiresAt` later), its `callCount` goes up by one before the hash is read, in the same script. The
 * read that admits a call and its count are then one command, where they were two.
 */
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../services/tasks/index.js';

const READ_TASK = 'portcullisReadTask';
const READ_TASK_COUNTING = 'portcullisReadTaskCounting';
const READ_FLAG = 'portcullisReadFlag';

// A missing epoch is `false` in Lua, which becomes a null member of the reply (not the end of the array).
const READ_TASK_SCRIPT = `
local hash = redis.call('HGETALL', KEYS[1])
local labels = redis.call('SMEMBERS', KEYS[2])
if #KEYS < 3 then return {hash, labels} end
return {hash, labels, redis.call('GET', KEYS[3])}`;

// The task store's rule for a live task (isTaskLive), as its END and RENEW scripts hold it: no `endedAt`, and
// `expiresAt` after now (ARGV[1]). A missing hash has neither field and is not counted.
const READ_TASK_COUNTING_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'endedAt') == 0 then
  local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
  if expiresAt ~= nil and expiresAt > tonumber(ARGV[1]) then redis.call('HINCRBY', KEYS[1], 'callCount', 1) end
end
${READ_TASK_SCRIPT}`;

const READ_FLAG_SCRIPT = `
local exists = redis.call('EXISTS', KEYS[1])
if #KEYS < 2 then return {exists} end
return {exists, redis.call('GET', KEYS[2])}`;

type ScriptCall = (keyCount: number, ...keysThenArgs: string[]) => Promise<unknown>;
type WithReads = Redis & Record<typeof READ_TASK | typeof READ_TASK_COUNTING | typeof READ_FLAG, ScriptCall>;

const defined = new WeakSet<Redis>();

/** The client with both scripts defined on it (once per client). */
function withReads(redis: Redis): WithReads {
  if (!defined.has(redis)) {
    redis.defineCommand(READ_TASK, { lua: READ_TASK_SCRIPT });
    redis.defineCommand(READ_TASK_COUNTING, { lua: READ_TASK_COUNTING_SCRIPT });
    redis.defineCommand(READ_FLAG, { lua: READ_FLAG_SCRIPT });
    defined.add(redis);
  }
  return redis as WithReads;
}

/** What a read returned; `epoch` is present exactly when an epoch key was given (null: the key is missing). */
export interface EpochRead<T> {
  value: T;
  epoch?: string | null;
}

/** A reply that is not what the script returns (a proxy in between, a server that is not Redis). */
const unexpectedReply = (): StoreUnavailableError => new StoreUnavailableError('unexpected reply from state store');

function epochOf(reply: unknown[], at: number, epochKey: string | undefined): { epoch?: string | null } {
  if (epochKey === undefined) return {};
  const epoch = reply[at];
  if (epoch !== null && typeof epoch !== 'string') throw unexpectedReply();
  return { epoch };
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** What a task read also does: read the store's epoch, count a call. */
export interface TaskReadOptions {
  epochKey?: string | undefined;
  /** Epoch ms: one call counted first when the task is live then (the hash read shows the count). */
  countCallAt?: number | undefined;
}

/** A task's hash (field to value; empty when there is none) and its labels, with the epoch. */
export async function readTaskRecord(
  redis: Redis,
  hashKey: string,
  labelsKey: string,
  { epochKey, countCallAt }: TaskReadOptions = {},
): Promise<EpochRead<{ hash: Record<string, string>; labels: string[] }>> {
  const keys = epochKey !== undefined ? [hashKey, labelsKey, epochKey] : [hashKey, labelsKey];
  const reads = withReads(redis);
  const reply = await (countCallAt === undefined
    ? reads[READ_TASK](keys.length, ...keys)
    : reads[READ_TASK_COUNTING](keys.length, ...keys, String(countCallAt)));
  if (!Array.isArray(reply) || reply.length !== keys.length) throw unexpectedReply();
  const [pairs, labels] = reply as unknown[];
  if (!isStrings(pairs) || pairs.length % 2 !== 0 || !isStrings(labels)) throw unexpectedReply();
  const hash: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let at = 0; at < pairs.length; at += 2) hash[pairs[at]!] = pairs[at + 1]!;
  return { value: { hash, labels }, ...epochOf(reply, 2, epochKey) };
}

/** Whether a key exists, with the epoch. */
export async function readFlag(redis: Redis, key: string, epochKey?: string): Promise<EpochRead<boolean>> {
  const keys = epochKey !== undefined ? [key, epochKey] : [key];
  const reply = await withReads(redis)[READ_FLAG](keys.length, ...keys);
  if (!Array.isArray(reply) || reply.length !== keys.length) throw unexpectedReply();
  const exists = (reply as unknown[])[0];
  if (exists !== 0 && exists !== 1) throw unexpectedReply();
  return { value: exists === 1, ...epochOf(reply, 1, epochKey) };
}

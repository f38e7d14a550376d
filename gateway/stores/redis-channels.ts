/**
 * Messages between the gateway instances that share one Redis (one key prefix): a broadcast channel every
 * instance hears (`<prefix>broadcast`) and one direct channel per instance (`<prefix>instance:<id>`), over
 * Redis pub/sub. Messages are JSON; each carries the id of the instance that sent it.
 *
 * Pub/sub delivers to whoever is subscribed at that moment and keeps nothing. So the subscribing
 * connection (a second connection: a subscribed connection can do nothing else) is watched: when it drops,
 * every `onLost` listener hears of it at once and `available()` is false until it is subscribed again,
 * because whatever was sent meanwhile is gone. Publishing fails fast (StoreUnavailableError) when Redis
 * cannot take the message, like every other store operation.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { InstanceMessage, InstanceMessages } from '../services/instances/index.js';
import { guardStore } from './store-guard.js';

export type ChannelMessage = InstanceMessage;

/** The instance messages over Redis pub/sub, and their connection to close. */
export interface InstanceChannels extends InstanceMessages {
  close(): Promise<void>;
}

export interface RedisChannelsOptions {
  /** The shared client, for publishing; the subscribing connection is a duplicate of it. */
  redis: Redis;
  prefix: string;
  instanceId?: string;
  /** How long opening waits for the first subscription. */
  openTimeoutMs?: number;
}

export async function openRedisChannels(options: RedisChannelsOptions): Promise<InstanceChannels> {
  const instanceId = options.instanceId ?? randomUUID();
  const broadcastChannel = `${options.prefix}broadcast`;
  const directChannel = (id: string) => `${options.prefix}instance:${id}`;
  const ownChannel = directChannel(instanceId);
  const broadcastListeners = new Set<(message: ChannelMessage, from: string) => void>();
  const directListeners = new Set<(message: ChannelMessage, from: string) => void>();
  const lostListeners = new Set<(reason: string) => void>();
  let subscribed = false;
  let closing = false;

  // Named, so an operator can tell it in `CLIENT LIST`.
  const subscriber = options.redis.duplicate({
    lazyConnect: true,
    autoResubscribe: false,
    enableOfflineQueue: false,
    connectionName: `portcullis-channels-${instanceId}`,
  });
  subscriber.on('error', () => undefined); // reported through `onLost` and `available()`
  subscriber.on('message', (channel: string, text: string) => {
    const envelope = parse(text);
    if (envelope === undefined) return;
    const listeners =
      channel === broadcastChannel ? broadcastListeners : channel === ownChannel ? directListeners : undefined;
    for (const listener of listeners ?? []) {
      try {
        listener(envelope.message, envelope.from);
      } catch {
        // one listener's fault never stops delivery to the others
      }
    }
  });
  subscriber.on('close', () => {
    if (!subscribed) return;
    subscribed = false;
    if (closing) return;
    for (const listener of [...lostListeners])
      listener('the connection to Redis for messages between instances dropped');
  });
  const firstSubscription = new Promise<void>((resolve, reject) => {
    const subscribe = () => {
      subscriber.subscribe(broadcastChannel, ownChannel).then(
        () => {
          subscribed = true;
          resolve();
        },
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
    };
    subscriber.on('ready', subscribe);
  });
  firstSubscription.catch(() => undefined);
  try {
    await subscriber.connect();
    await guardStore(() => firstSubscription, options.openTimeoutMs ?? 5_000);
  } catch (error) {
    subscriber.disconnect();
    throw error;
  }

  const publish = (channel: string, message: ChannelMessage): Promise<number> =>
    guardStore(() => options.redis.publish(channel, JSON.stringify({ from: instanceId, message })));

  return {
    instanceId,
    async broadcast(message) {
      await publish(broadcastChannel, message);
    },
    async send(to, message) {
      return (await publish(directChannel(to), message)) > 0;
    },
    async listening(id) {
      const answer = await guardStore(() => options.redis.pubsub('NUMSUB', directChannel(id)));
      return Number(answer[1] ?? 0) > 0;
    },
    onBroadcast: (listener) => addTo(broadcastListeners, listener),
    onDirect: (listener) => addTo(directListeners, listener),
    onLost: (listener) => addTo(lostListeners, listener),
    available: () => subscribed,
    async close() {
      closing = true;
      subscribed = false;
      broadcastListeners.clear();
      directListeners.clear();
      lostListeners.clear();
      subscriber.disconnect();
    },
  };
}

function addTo<T>(set: Set<T>, item: T): () => void {
  set.add(item);
  return () => void set.delete(item);
}

function parse(text: string): { from: string; message: ChannelMessage } | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { from, message } = value as { from?: unknown; message?: unknown };
    if (typeof from !== 'string' || typeof message !== 'object' || message === null || Array.isArray(message)) {
      return undefined;
    }
    return { from, message: message as ChannelMessage };
  } catch {
    return undefined;
  }
}

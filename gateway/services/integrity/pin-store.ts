/**
 * Where tool pins live: in memory for one process, or in Redis so every gateway instance agrees on which
 * definitions are trusted. The first pin of a tool is written with create-if-absent semantics, so two
 * instances seeing a new tool at once cannot both decide what "first" was.
 */
import type { Redis } from 'ioredis';
import type { Finding, ToolFlag } from './findings.js';
import type { DefinitionChange, PinnedDefinition } from './pin.js';

export interface PinRecord {
  connector: string;
  tool: string;
  /** Hash of the trusted definition; absent while a tool quarantined on first sight was never approved. */
  hash?: string;
  definition?: PinnedDefinition;
  status: 'trusted' | 'quarantined';
  firstSeen: string;
  approvedBy?: string;
  approvedAt?: string;
  /** Flags of the trusted definition (see analyze.ts). */
  flags: ToolFlag[];
  /** Analysis score and findings of the trusted definition. */
  score?: number;
  findings?: Finding[];
  /** A definition waiting for an operator: a changed one, or a new one held on first sight. */
  pending?: PendingDefinition;
}

export interface PendingDefinition {
  hash: string;
  definition: PinnedDefinition;
  seenAt: string;
  /** `new`: quarantined on first sight (nothing trusted yet); `changed`: differs from the trusted definition. */
  reason: 'new' | 'changed';
  /** Field-by-field diff against the trusted definition (against nothing for a new tool). */
  changes: DefinitionChange[];
  flags: ToolFlag[];
  score: number;
  findings: Finding[];
}

export interface PinStore {
  get(connector: string, tool: string): Promise<PinRecord | undefined>;
  /** Write the first pin; returns the record that is stored (an earlier one wins). */
  putFirst(record: PinRecord): Promise<PinRecord>;
  put(record: PinRecord): Promise<void>;
  list(): Promise<PinRecord[]>;
  close(): Promise<void>;
}

const keyOf = (connector: string, tool: string): string => `${connector}\u0000${tool}`;

export function createMemoryPinStore(): PinStore {
  const records = new Map<string, PinRecord>();
  const copy = (r: PinRecord): PinRecord => structuredClone(r);
  return {
    async get(connector, tool) {
      const record = records.get(keyOf(connector, tool));
      return record === undefined ? undefined : copy(record);
    },
    async putFirst(record) {
      const key = keyOf(record.connector, record.tool);
      const existing = records.get(key);
      if (existing !== undefined) return copy(existing);
      records.set(key, copy(record));
      return copy(record);
    },
    async put(record) {
      records.set(keyOf(record.connector, record.tool), copy(record));
    },
    async list() {
      return [...records.values()].map(copy);
    },
    async close() {},
  };
}

export function createRedisPinStore(options: { redis: Redis; prefix: string }): PinStore {
  const key = `${options.prefix}tool-pins`;
  const parse = (value: string | null): PinRecord | undefined =>
    value === null ? undefined : (JSON.parse(value) as PinRecord);
  return {
    async get(connector, tool) {
      return parse(await options.redis.hget(key, keyOf(connector, tool)));
    },
    async putFirst(record) {
      const field = keyOf(record.connector, record.tool);
      const created = await options.redis.hsetnx(key, field, JSON.stringify(record));
      if (created === 1) return record;
      return parse(await options.redis.hget(key, field)) ?? record;
    },
    async put(record) {
      await options.redis.hset(key, keyOf(record.connector, record.tool), JSON.stringify(record));
    },
    async list() {
      return Object.values(await options.redis.hgetall(key)).map((v) => JSON.parse(v) as PinRecord);
    },
    async close() {},
  };
}

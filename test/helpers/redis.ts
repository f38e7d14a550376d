/**
 * The one place tests get their Redis from. `REDIS_URL` is PORTCULLIS_TEST_REDIS_URL when set (the test runner
 * sets it to the private server it started for the run); otherwise this process starts its own private
 * redis-server on a free port, which stops when the process exits. No test talks to a Redis it did not get here.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestRedisServer, TEST_REDIS_URL_VARIABLE } from './redis-server.js';

async function resolveRedisUrl(): Promise<string> {
  const given = process.env[TEST_REDIS_URL_VARIABLE];
  if (given !== undefined && given !== '') return given;
  return (await startTestRedisServer()).url;
}

export const REDIS_URL: string = await resolveRedisUrl();

/** A key prefix no other test uses. */
export function freshPrefix(): string {
  return `portcullis-test:${randomUUID()}:`;
}

/** Delete every key a test created under its prefix (BullMQ keys embed the prefix too). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`*${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/**
 * Every Redis operation of the task and revocation stores goes through `guardStore`: any failure or a
 * reply slower than the deadline becomes StoreUnavailableError, so callers can fail closed promptly
 * instead of waiting on ioredis' offline queue and retries.
 */
import { StoreUnavailableError } from '../services/tasks/index.js';

export const DEFAULT_STORE_TIMEOUT_MS = 2000;

export async function guardStore<T>(
  operation: () => Promise<T>,
  timeoutMs: number = DEFAULT_STORE_TIMEOUT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError('state store did not answer in time')), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([operation(), deadline]);
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError('state store unavailable', { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

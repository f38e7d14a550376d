/**
 * A pipeline step that needs the state store (task state, rate-limit counters, data labels) and cannot get
 * an answer refuses the call, and says so truthfully: STORE_UNAVAILABLE, never "task ended" or "rate
 * limited". Anything else that goes wrong there is INTERNAL. Either way the call fails closed.
 */
import { GatewayError, isStoreUnavailable } from '../kernel/index.js';
import type { Metrics, StoreOperation } from '../services/metrics/index.js';

export function storeStepError(
  error: unknown,
  operation: StoreOperation,
  deps: { metrics?: Metrics | undefined; onError?: ((error: unknown, where: string) => void) | undefined },
): GatewayError {
  deps.onError?.(error, operation);
  if (!isStoreUnavailable(error))
    return new GatewayError('INTERNAL', 'internal gateway error', undefined, { cause: error });
  deps.metrics?.storeUnavailable(operation);
  return new GatewayError('STORE_UNAVAILABLE', 'the state store is unavailable; try again shortly', undefined, {
    cause: error,
  });
}

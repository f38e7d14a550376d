/**
 * The JavaScript heap as a test or benchmark needs to see it: after a full garbage collection, so what it
 * holds is what is still referenced.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full garbage collection, through V8's `gc` exposed at run time (no `--expose-gc` needed). */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Bytes of heap in use after a full collection. */
export function heapUsedAfterCollection(): number {
  collectGarbage();
  return getHeapStatistics().used_heap_size;
}

/** Upstream `notifications/resources/updated`, fanned out to every session that listens. */
import { EventEmitter } from 'node:events';

export interface ResourceUpdates {
  emit(uri: string): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (uri: string) => void): () => void;
}

export function createResourceUpdates(): ResourceUpdates {
  const emitter = new EventEmitter().setMaxListeners(0);
  return {
    emit: (uri) => void emitter.emit('updated', uri),
    subscribe(listener) {
      emitter.on('updated', listener);
      return () => void emitter.off('updated', listener);
    },
  };
}

/**
 * Connector-level log messages: what an upstream MCP server logs outside any call (while no call runs, or
 * on no call's stream), fanned out to whoever delivers them, the MCP edge's sessions that asked for logs.
 * Messages logged within a call go to that call's agent instead (ConnectorContext.onLog), never here.
 */
import { EventEmitter } from 'node:events';
import type { LogMessage } from '../../../connectors/contract.js';

export type ConnectorLogListener = (connectorId: string, message: LogMessage) => void;

export interface ConnectorLogs {
  emit(connectorId: string, message: LogMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: ConnectorLogListener): () => void;
}

export function createConnectorLogs(): ConnectorLogs {
  const emitter = new EventEmitter().setMaxListeners(0);
  return {
    emit: (connectorId, message) => void emitter.emit('log', connectorId, message),
    subscribe(listener) {
      emitter.on('log', listener);
      return () => void emitter.off('log', listener);
    },
  };
}

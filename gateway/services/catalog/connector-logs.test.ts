import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogMessage } from '../../../connectors/contract.js';
import { createConnectorLogs } from './connector-logs.js';

describe('connector-level log messages', () => {
  it('reach every subscriber with the connector they came from, until it unsubscribes', () => {
    const logs = createConnectorLogs();
    const seen: [string, LogMessage][] = [];
    const stop = logs.subscribe((connectorId, message) => seen.push([connectorId, message]));
    const message: LogMessage = { level: 'info', logger: 'upstream', data: 'idle' };
    logs.emit('kb', message);
    stop();
    logs.emit('kb', message);
    assert.deepEqual(seen, [['kb', message]]);
  });
});

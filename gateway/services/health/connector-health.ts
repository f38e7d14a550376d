/**
 * A connector's health for readiness: MCP upstreams keep a connection whose state is known; HTTP backends
 * have no standing connection and are judged per call, so they always read as available here.
 */
import type { Connector } from '../../../connectors/contract.js';
import type { ComponentHealth } from './readiness.js';

export function connectorHealth(connector: Connector): ComponentHealth {
  const status = (connector as { status?: () => { state: string } }).status?.();
  if (status === undefined || status.state === 'ready') return { available: true };
  return { available: false, reason: `upstream ${status.state}` };
}

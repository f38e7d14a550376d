/** Rules for operators deciding elevation requests, and how a request links to its trace. */
import type { GatewayConfig } from '../../config/index.js';
import type { Ticket } from './types.js';

/** Operators responsible for an agent (its `owners`) may not decide its requests; nor may the agent itself. */
export function isOwner(config: GatewayConfig, operatorId: string, ticket: Ticket): boolean {
  if (operatorId === ticket.agentId || operatorId === ticket.requestedBy) return true;
  return config.agents.find((a) => a.id === ticket.agentId)?.owners.includes(operatorId) ?? false;
}

/** Link from an approval request to its trace in Jaeger, via the traceparent the waiting call recorded. */
export function traceLink(jaegerUiUrl: string): (ticket: Ticket) => string | undefined {
  return (ticket) => {
    const traceId = ticket.traceparent?.split('-')[1];
    return traceId !== undefined && /^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId)
      ? `${jaegerUiUrl.replace(/\/$/, '')}/trace/${traceId}`
      : undefined;
  };
}

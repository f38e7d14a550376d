/**
 * Errors raised by the egress guard's fetch. Each carries a stable SCREAMING_SNAKE `code` that the gateway's
 * error boundary maps once (see gateway/kernel/errors.ts). The base class is part of the connector contract
 * (connectors/errors.ts), so connectors recognise these errors by type. Messages are safe to show to the agent: they may name
 * the host, port and a reason, never headers, bodies, query strings or credentials.
 */
import type { AddressClass } from '../../../policies/types.js';
import { EgressError } from '../../../connectors/errors.js';

export { EgressError, isEgressError, type EgressErrorCode } from '../../../connectors/errors.js';

/** What was being decided when a request was denied; for audit and logs (an IP is not a secret). */
export interface EgressDenial {
  scheme: string;
  host: string;
  port: number;
  ip?: string;
  addressClass?: AddressClass;
  /** Rules that decided, empty for a default deny or a guard-level refusal. */
  rules: readonly string[];
  reason: string;
}

/** The request was not sent (or, for a redirect, not followed) because the destination is not allowed. */
export class EgressDeniedError extends EgressError {
  override readonly name: string = 'EgressDeniedError';
  override readonly code = 'EGRESS_DENIED' as const;
  constructor(readonly denial: EgressDenial) {
    super('EGRESS_DENIED', `egress to ${formatTarget(denial)} denied: ${denial.reason}`);
  }
}

function formatTarget(denial: EgressDenial): string {
  if (denial.host === '') return `${denial.scheme} URL`;
  const host = denial.host.includes(':') ? `[${denial.host}]` : denial.host;
  return denial.port > 0 ? `${host}:${denial.port}` : host;
}

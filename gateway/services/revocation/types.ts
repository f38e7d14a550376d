/**
 * Revocation: the answers the gateway needs on every request to honour a kill switch.
 *
 * Checks never cache a positive ("still valid") answer locally, so a revocation made on any instance
 * sharing the store is effective on the next call everywhere. Checks and mutations throw
 * StoreUnavailableError (code STORE_UNAVAILABLE) when the store cannot answer: callers refuse the request
 * and say why (an outage, never "disabled" or "ended"), and an operator is told when a revocation did not
 * take.
 */
export interface RevocationStore {
  /** Revoke one token id until `until` (epoch ms; normally the token's own expiry). */
  revokeJti(jti: string, until: number): Promise<void>;
  isJtiRevoked(jti: string): Promise<boolean>;
  /** Kill switch for an agent: every credential it holds stops working on the next call. */
  disableAgent(agentId: string): Promise<void>;
  enableAgent(agentId: string): Promise<void>;
  isAgentDisabled(agentId: string): Promise<boolean>;
  /** True when the task ended, expired or is unknown; throws StoreUnavailableError when the store cannot answer. */
  isTaskEnded(taskId: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Revocation: the answers the gateway needs on every request to honour a kill switch.
 *
 * Checks never cache a positive ("still valid") answer locally, so a revocation made on any instance
 * sharing the store is effective on the next call everywhere. Checks fail closed: when the store cannot
 * answer they report "revoked" / "disabled" / "ended". Mutations throw StoreUnavailableError instead, so
 * an operator is told when a revocation did not take.
 */
export interface RevocationStore {
  /** Revoke one token id until `until` (epoch ms; normally the token's own expiry). */
  revokeJti(jti: string, until: number): Promise<void>;
  isJtiRevoked(jti: string): Promise<boolean>;
  /** Kill switch for an agent: every credential it holds stops working on the next call. */
  disableAgent(agentId: string): Promise<void>;
  enableAgent(agentId: string): Promise<void>;
  isAgentDisabled(agentId: string): Promise<boolean>;
  /** True when the task ended, expired, is unknown, or the task store cannot answer. */
  isTaskEnded(taskId: string): Promise<boolean>;
  close(): Promise<void>;
}

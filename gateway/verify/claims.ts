/**
 * Names shared by everything that mints or checks the gateway's own tokens. A plain leaf module (no
 * imports) so the backend verify helper can use it without pulling in the gateway.
 */

/** `typ` header of task tokens (agent -> gateway). */
export const TASK_TOKEN_TYP = 'portcullis-task+jwt';
/** `typ` header of call credentials (gateway -> one backend). */
export const CALL_CREDENTIAL_TYP = 'portcullis-call+jwt';

/** Clock tolerance applied to `exp`, `nbf` and `iat` everywhere. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Scope of a call credential: `METHOD /canonical/path` for HTTP operations, `tool:NAME` for MCP tools. */
export const SCOPE_PATTERN = /^(?:[A-Z][A-Z-]{0,19} \/[^\s]*|tool:[^\s]+)$/;

/** Task token claims beyond the registered ones. */
export interface TaskTokenClaims {
  iss: string;
  /** Always exactly the issuer: the gateway is the only audience. */
  aud: string;
  /** Agent id. */
  sub: string;
  /** Task id. */
  tid: string;
  /** Tenant of the task, when it has one. */
  ten?: string;
  iat: number;
  exp: number;
  jti: string;
}

/**
 * Call credential claims. `sub` is the party the call is made for: the agent, or the user named by
 * on-behalf-of, in which case `act.sub` is the agent (RFC 8693 actor claim).
 */
export interface CallCredentialClaims {
  iss: string;
  /** Exactly one backend audience. */
  aud: string;
  sub: string;
  act?: { sub: string };
  /** Task id: the credential dies with the task. */
  tid: string;
  /** One operation: `METHOD /path` or `tool:NAME`. */
  scope: string;
  /** Present and true for credentials minted after an approval. */
  elv?: boolean;
  iat: number;
  exp: number;
  jti: string;
}

/** The agent a call credential was minted for. */
export function callCredentialAgent(claims: Pick<CallCredentialClaims, 'sub' | 'act'>): string {
  return claims.act?.sub ?? claims.sub;
}

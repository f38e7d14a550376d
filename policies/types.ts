/**
 * Facts and decisions: the contract between the gateway's pipeline and the pure policy engine.
 *
 * The engine sees only these plain values (no I/O, no clocks of its own: `time` is a fact), so a
 * decision is reproducible from its facts, in tests, in `policy explain` and in shadow mode.
 */

export type Effect = 'allow' | 'deny' | 'approve';

export interface PrincipalFacts {
  agentId: string;
  roles: readonly string[];
  tenant?: string;
  environment?: string;
  /** How the principal authenticated: `api-key`, `task-token`, `oauth`, `spiffe`. */
  authMethod?: string;
}

export interface TaskFacts {
  id: string;
  intent?: string;
  /** Tools the task declared it expects to use (exposed names or globs); absent = not declared. */
  declaredTools?: readonly string[];
  /** Data labels read earlier in the task (for data-flow rules), e.g. `sensitive`. */
  labelsRead?: readonly string[];
}

export interface ToolFacts {
  /** Exposed name, `${connector}_${tool}`. */
  name: string;
  connector: string;
  /** Connector-local name. */
  local: string;
  connectorKind: 'http' | 'mcp' | 'gateway';
  annotations?: Readonly<Record<string, unknown>>;
  /** Integrity flags of the definition (shadowing, model-instructions, sensitive-reference, ...; see docs/integrity.md). */
  flags?: readonly string[];
}

export interface HttpFacts {
  method: string;
  scheme: string;
  host: string;
  port: number;
  /** Canonical path as sent. */
  path: string;
  query: string;
}

export interface CallFacts {
  principal: PrincipalFacts;
  task?: TaskFacts;
  tool: ToolFacts;
  http?: HttpFacts;
  args: Readonly<Record<string, unknown>>;
  /** Evaluation time (epoch milliseconds). */
  now: number;
}

/**
 * A resource or prompt someone asks for. `name` is the canonical resource URI (see resource-uri.ts) or the
 * exposed prompt name (`${connector}_${prompt}`).
 */
export interface ItemFacts {
  kind: 'resource' | 'prompt';
  name: string;
  connector: string;
  principal: PrincipalFacts;
}

/** What the egress guard knows about a destination when it asks. */
export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

export interface EgressFacts {
  principal?: PrincipalFacts;
  task?: TaskFacts;
  /** Connector the request belongs to. */
  connector: string;
  /** Exposed tool name, when the request is part of a tool call. */
  tool?: string;
  scheme: string;
  /** Host as written in the URL (name or literal IP, lower-cased, no brackets). */
  host: string;
  port: number;
  /** The resolved address being connected to; absent for the pre-connect check on the name. */
  ip?: string;
  addressClass?: AddressClass;
}

export interface Decision {
  effect: Effect;
  /** Stable error code for non-allow effects, e.g. POLICY_DENIED, EGRESS_DENIED, APPROVAL_REQUIRED. */
  code?: string;
  /** Ids of the rules that decided (empty for default deny). */
  rules: readonly string[];
  /** Human-readable reason, safe to show to the agent and operators. */
  reason: string;
  /** Content hash of the policy that decided. */
  policyVersion?: string;
  /** For `approve`: how many distinct approvers, and the longest grant the rule allows. */
  approval?: { approvers: number; maxTtlSeconds?: number };
}

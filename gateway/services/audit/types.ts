/**
 * Audit records: one per decision (allow, deny, approve, error) and per task/credential/approval event.
 * Records never contain secrets, tokens or raw arguments (only an argument hash unless configured).
 */
export type AuditEvent =
  /** Write-ahead decision record of a call, durable before the backend is contacted. */
  | 'call.intent'
  | 'tool.call'
  | 'elevation.request'
  | 'tool.list'
  | 'resource.read'
  | 'resource.subscribe'
  | 'completion.complete'
  | 'prompt.get'
  | 'session.open'
  | 'session.close'
  | 'task.open'
  | 'task.end'
  | 'credential.mint'
  | 'credential.revoke'
  | 'agent.disable'
  | 'approval.request'
  | 'approval.decision'
  | 'approval.grant-used'
  | 'approval.expired'
  | 'policy.reload'
  | 'policy.shadow'
  | 'tool.pin'
  | 'tool.quarantine'
  | 'auth.failure'
  | 'egress.denied'
  /** The sink cut an incomplete final line at start-up (how many bytes, why). */
  | 'audit.repair'
  /** The sink could write again after an outage (since when, how many records it refused). */
  | 'audit.recovered'
  /** The state store lost its data: requests are refused until the state that denies is rebuilt. */
  | 'store.lost'
  /** The state store's state was rebuilt from the audit logs, or adopted from another instance's rebuild. */
  | 'store.recovered';

export interface AuditRecordInput {
  event: AuditEvent;
  /** allow | deny | approve | error for decisions; free for other events. */
  decision?: 'allow' | 'deny' | 'approve' | 'error';
  code?: string;
  agentId?: string;
  tenant?: string;
  taskId?: string;
  sessionId?: string;
  /** Ties a call's write-ahead `call.intent` record to its `tool.call` outcome record. */
  callId?: string;
  tool?: string;
  /** `METHOD canonical-url` for HTTP tools, `tools/call name` for MCP tools. */
  operation?: string;
  /** Backend target: connector id plus host for HTTP. */
  target?: string;
  rules?: readonly string[];
  policyVersion?: string;
  reason?: string;
  latencyMs?: number;
  traceId?: string;
  /** sha256 of the canonical arguments (never the arguments themselves by default). */
  argsHash?: string;
  approvalId?: string;
  jti?: string;
  /** Operator or actor for operator events. */
  actor?: string;
  detail?: Readonly<Record<string, unknown>>;
}

/** What is written: the input plus sequence, time and chain fields. */
export interface AuditRecord extends AuditRecordInput {
  seq: number;
  ts: string;
  /** Hash of the previous record (hex sha256), or 64 zeros for the first. */
  prev: string;
  /** sha256 over this record's JSON text without `hash` (its line without the closing hash member; chain.ts). */
  hash: string;
}

/** Whether records can be written now; `reason` is safe to show (no paths of secrets, no record content). */
export interface AuditSinkStatus {
  available: boolean;
  reason?: string;
  /** ISO time the current outage began. */
  since?: string;
}

/** How one append may be written. */
export interface AppendOptions {
  /**
   * The caller does not wait for this record before anything leaves the gateway (an outcome record with
   * `flushBeforeResponse: false`). A sink may hold it back briefly to write it with the next record it
   * writes, so one synced write serves both; the file sink holds it at most `deferMs`. The promise still
   * resolves only once the record is durable.
   */
  deferrable?: boolean;
}

/** What a file sink has written so far (metrics read it). */
export interface AuditWriteStats {
  /** Records made durable. */
  records: number;
  /** Synced writes that made them durable (group commit: concurrent appends share one). */
  syncs: number;
  /** Of those writes, the ones made on the event loop's own thread instead of libuv's thread pool. */
  inlineSyncs: number;
  /**
   * Milliseconds the synced writes took, as the event loop saw them: an inline write while it blocked, a
   * write in the pool from handing it over until its result was back on the event loop.
   */
  syncMs: number;
  /** Of those milliseconds, the inline writes'. */
  inlineSyncMs: number;
  /**
   * Milliseconds the durable records waited, summed over them: each from its append until its write had
   * synced (the wait an append that resolves when durable makes its caller wait, deferral included).
   */
  durableWaitMs: number;
}

export interface AuditSink {
  /** Resolves when the record is durable according to the configured durability mode. */
  append(record: AuditRecordInput, options?: AppendOptions): Promise<void>;
  /** Sinks that can fail report it here (readiness reads it); absent means always available. */
  status?(): AuditSinkStatus;
  /** Sinks that write a file say what they wrote (absent: nothing to count). */
  stats?(): AuditWriteStats;
  flush(): Promise<void>;
  close(): Promise<void>;
}

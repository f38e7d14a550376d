/**
 * Calls waiting for an operator, as the MCP Tasks extension shows them to 2026-07-28 agents that negotiated
 * it: one record per task, kept in the gateway's state store (memory or Redis) so that `tasks/get` is
 * answered the same on every instance. The record holds what the agent may see (status, the result or the
 * error), who owns the task (a digest of the principal), and the approval request it waits for; never the
 * call's arguments.
 *
 * A task ends once: `finish` moves a `working` task to its end state and refuses any later end, so a cancel
 * and an outcome racing on two instances leave exactly one of them.
 */
import type { JsonObject } from '../../../connectors/contract.js';

export type ApprovalTaskStatus = 'working' | 'completed' | 'failed' | 'cancelled';

export interface ApprovalTaskError {
  /** JSON-RPC error code. */
  code: number;
  message: string;
  /** `{ code: <gateway code>, approvalId }`. */
  data?: JsonObject;
}

export interface ApprovalTask {
  id: string;
  /** Digest of the principal that created it; every other principal is told it does not exist. */
  owner: string;
  /** The approval request the call waits for. */
  approvalId: string;
  /** Exposed name of the tool called. */
  tool: string;
  status: ApprovalTaskStatus;
  statusMessage: string;
  /** ISO 8601. */
  createdAt: string;
  lastUpdatedAt: string;
  /** How long the record is kept after its creation. */
  ttlMs: number;
  /** The tool result (completed). */
  result?: JsonObject;
  /** Why it failed (failed). */
  error?: ApprovalTaskError;
}

export type ApprovalTaskEnd = Pick<ApprovalTask, 'status' | 'statusMessage' | 'lastUpdatedAt' | 'result' | 'error'> & {
  status: Exclude<ApprovalTaskStatus, 'working'>;
};

export interface ApprovalTaskStore {
  /** Stores a new task; it is dropped `ttlMs` after creation. */
  create(task: ApprovalTask): Promise<void>;
  get(id: string): Promise<ApprovalTask | undefined>;
  /** Ends a working task; false when it had already ended or is unknown (the first end wins). */
  finish(id: string, end: ApprovalTaskEnd): Promise<boolean>;
}

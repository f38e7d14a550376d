/**
 * The state that denies, recovered from audit records: disabled agents, revoked credentials, tasks (which
 * ended, and how), and approval requests still pending. The audit log records every change of that state
 * (`agent.disable`, `credential.revoke`, `task.open`/`task.end`, `approval.*`), so it is the source of truth
 * to rebuild a state store that lost its data. Records from several instances' logs are merged by time.
 *
 * Pure: records in, state out. Reading files and writing the store are elsewhere.
 */
import type { AuditRecord } from '../audit/index.js';

/** The events the recovered state is made of; every other record is skipped while reading. */
export const DENY_STATE_EVENTS: ReadonlySet<string> = new Set([
  'agent.disable',
  'credential.revoke',
  'task.open',
  'task.end',
  'approval.request',
  'approval.decision',
  'approval.expired',
  'tool.pin',
]);

/** How long a revocation made through the operator API lasts (matches the credentials router). */
export const REVOCATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface RecoveredTask {
  id: string;
  agentId: string;
  tenant?: string;
  intent: string;
  declaredTools?: string[];
  createdAt: number;
  expiresAt: number;
  /** Set when the log records the end (explicit end by an agent or operator). */
  endedAt?: number;
  endReason?: string;
}

export interface PendingApproval {
  id: string;
  agentId?: string;
  taskId?: string;
  tool?: string;
  operation?: string;
  rules: readonly string[];
  requestedAt: number;
}

export interface DenyState {
  /** Agents whose last kill-switch action was `disable`, with when. */
  disabledAgents: Map<string, number>;
  /** Revoked credential ids, with until when the revocation holds (epoch ms). */
  revokedJtis: Map<string, number>;
  tasks: Map<string, RecoveredTask>;
  /** Requests with neither a final decision nor an expiry in the log. */
  pendingApprovals: Map<string, PendingApproval>;
  /**
   * The last trusted definition hash of each upstream tool (`connector\0tool`): restoring it keeps a changed
   * definition held as changed, instead of trusting it on a new first sight.
   */
  pins: Map<string, RecoveredPin>;
}

export interface RecoveredPin {
  connector: string;
  /** The tool's own name at its connector (not the exposed `connector_tool`). */
  tool: string;
  hash: string;
  pinnedAt: number;
}

export function emptyDenyState(): DenyState {
  return {
    disabledAgents: new Map(),
    revokedJtis: new Map(),
    tasks: new Map(),
    pendingApprovals: new Map(),
    pins: new Map(),
  };
}

/**
 * Fold records into the state. Records must come in time order (see `sortRecords`): the last kill-switch
 * action on an agent wins, across every instance's log.
 */
export function reduceDenyState(records: Iterable<AuditRecord>, state: DenyState = emptyDenyState()): DenyState {
  for (const record of records) {
    const at = Date.parse(record.ts);
    if (!Number.isFinite(at)) continue;
    switch (record.event) {
      case 'agent.disable': {
        if (record.agentId === undefined) break;
        const action = record.detail?.['action'];
        if (action === 'enable') state.disabledAgents.delete(record.agentId);
        else state.disabledAgents.set(record.agentId, at);
        break;
      }
      case 'credential.revoke': {
        if (record.jti === undefined) break;
        const until = at + REVOCATION_TTL_MS;
        state.revokedJtis.set(record.jti, Math.max(until, state.revokedJtis.get(record.jti) ?? 0));
        break;
      }
      case 'task.open': {
        if (record.taskId === undefined || record.agentId === undefined) break;
        const expiresAt = Date.parse(String(record.detail?.['expiresAt'] ?? ''));
        const tools = record.detail?.['declaredTools'];
        state.tasks.set(record.taskId, {
          id: record.taskId,
          agentId: record.agentId,
          ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
          intent: typeof record.detail?.['intent'] === 'string' ? record.detail['intent'] : '',
          ...(Array.isArray(tools) && tools.every((t) => typeof t === 'string') ? { declaredTools: tools } : {}),
          createdAt: at,
          // Without a readable expiry the task is treated as already expired (fail closed).
          expiresAt: Number.isFinite(expiresAt) ? expiresAt : at,
        });
        break;
      }
      case 'task.end': {
        if (record.taskId === undefined) break;
        const task = state.tasks.get(record.taskId) ?? {
          id: record.taskId,
          agentId: record.agentId ?? '',
          ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
          intent: '',
          createdAt: at,
          expiresAt: at,
        };
        if (task.endedAt === undefined) {
          task.endedAt = at;
          task.endReason = record.reason ?? 'ended';
        }
        state.tasks.set(record.taskId, task);
        break;
      }
      case 'approval.request': {
        if (record.approvalId === undefined) break;
        state.pendingApprovals.set(record.approvalId, {
          id: record.approvalId,
          ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
          ...(record.taskId !== undefined ? { taskId: record.taskId } : {}),
          ...(record.tool !== undefined ? { tool: record.tool } : {}),
          ...(record.operation !== undefined ? { operation: record.operation } : {}),
          rules: record.rules ?? [],
          requestedAt: at,
        });
        break;
      }
      case 'approval.decision': {
        // One approver of several leaves the request pending.
        if (record.approvalId !== undefined && record.detail?.['status'] !== 'pending')
          state.pendingApprovals.delete(record.approvalId);
        break;
      }
      case 'approval.expired': {
        if (record.approvalId !== undefined) state.pendingApprovals.delete(record.approvalId);
        break;
      }
      case 'tool.pin': {
        const connector = record.target;
        const hash = record.detail?.['hash'];
        if (connector === undefined || record.tool === undefined || typeof hash !== 'string') break;
        const tool = record.tool.startsWith(`${connector}_`) ? record.tool.slice(connector.length + 1) : record.tool;
        state.pins.set(`${connector}\u0000${tool}`, { connector, tool, hash, pinnedAt: at });
        break;
      }
      default:
        break;
    }
  }
  return state;
}

/** Time order across logs (stable: records of one log keep their order when their times are equal). */
export function sortRecords(records: AuditRecord[]): AuditRecord[] {
  return records
    .map((record, index) => ({ record, index, at: Date.parse(record.ts) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ record }) => record);
}

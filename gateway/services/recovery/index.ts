/** Recovering the state that denies (kill switches, revocations, task ends, pending approvals) from audit logs. */
export {
  DENY_STATE_EVENTS,
  REVOCATION_TTL_MS,
  emptyDenyState,
  reduceDenyState,
  sortRecords,
  type DenyState,
  type PendingApproval,
  type RecoveredPin,
  type RecoveredTask,
} from './deny-state.js';
export { AuditSourceError, readDenyStateRecords, type ReadRecordsResult } from './read-records.js';

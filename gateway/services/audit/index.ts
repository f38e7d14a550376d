export type {
  AppendOptions,
  AuditEvent,
  AuditRecord,
  AuditRecordInput,
  AuditSink,
  AuditSinkStatus,
  AuditWriteStats,
} from './types.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export {
  GENESIS_HASH,
  computeRecordHash,
  isSecretKey,
  redactDetail,
  sealRecord,
  type AuditChainHead,
} from './chain.js';
export { AuditCheckpointSchema, readCheckpoint, writeCheckpoint, type AuditCheckpoint } from './checkpoint.js';
export { createJsonlAuditSink, type JsonlAuditSink, type JsonlAuditSinkOptions } from './jsonl-sink.js';
export { createMemoryAuditSink, type MemoryAuditSink } from './memory-sink.js';
export {
  verifyAuditLog,
  verifyAuditFiles,
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerifyResult,
  type InDoubtCall,
  type VerifyAuditLogOptions,
} from './verify.js';
export { readFileTail, type FileTail } from './tail.js';
export { appendBestEffort, reportingAuditSink, type AuditFailureReporter } from './best-effort.js';
export { openAuditSink, openGatewayAudit, type AuditOutputs } from './open-audit.js';
export { createRotatingAuditSink, type AuditRotation, type RotatingAuditSinkOptions } from './rotating-sink.js';
export { listAuditFiles, listRotatedSegments, rotatedSegmentName } from './segments.js';
export {
  withRecentAudit,
  matchesRecentFilter,
  type RecentAudit,
  type RecentAuditFilter,
  type RecentAuditRecord,
} from './recent.js';

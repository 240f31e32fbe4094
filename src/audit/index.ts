export { canonicalize } from './canonical.js';
export { genesisHash, recordHash } from './chain.js';
export {
  CHECKPOINT_TYPE,
  type CheckpointCheck,
  type CheckpointPayload,
  type CheckpointSigner,
  checkpointDigest,
  signCheckpoint,
  verifyCheckpoint,
} from './checkpoint.js';
export { CSV_COLUMNS, toCsvRow, toOcsf } from './export.js';
export { type FileAuditSinkOptions, fileAuditSink } from './file-sink.js';
export { type MemoryAuditSink, memoryAuditSink } from './memory-sink.js';
export { createPseudonymizer } from './pseudonymize.js';
export { type AuditQuery, type AuditStats, auditStats, queryAudit } from './query.js';
export { type AuditLine, checkpointFiles, logFiles, readAuditLines } from './reader.js';
export {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditRecord,
  type ChainFields,
  type DecisionEvent,
  type DroppedEvent,
  type OutcomeEvent,
  type WriterStartEvent,
  type WriterStopEvent,
} from './record.js';
export type { AuditSink, Enforcer } from './sink.js';
export {
  type ProcessingEntry,
  type PurposeSummary,
  type SubjectHistory,
  subjectHistory,
} from './subject-history.js';
export {
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerification,
  verifyAuditLog,
} from './verify.js';
export {
  type AuditTrailReport,
  type TrailProblem,
  type TrailProblemKind,
  type VerifyTrailOptions,
  verifyAuditTrail,
} from './verify-trail.js';

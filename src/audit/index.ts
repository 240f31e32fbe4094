/**
 * `pipl-guard/audit`: tools for reading the audit log after the fact — verify the hash chain and
 * signed checkpoints, query, export (OCSF, CSV), stats, and the readers under them. The sinks that
 * write the log are in the root (`fileAuditSink`, `memoryAuditSink`) and `pipl-guard/postgres`;
 * `chainedAuditSink` builds a sink on a store of your own (you write its I/O); `createBatchWriter` is
 * the write queue every sink shares.
 */
export {
  type BatchWriter,
  type BatchWriterEvent,
  type BatchWriterOptions,
  createBatchWriter,
} from './batch-writer.js';
export { type AuditStore, type ChainedAuditSinkOptions, chainedAuditSink } from './chained-sink.js';
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
export { createPseudonymizer } from './pseudonymize.js';
export {
  type AuditQuery,
  type AuditStats,
  auditStats,
  type QueryReadOptions,
  queryAudit,
  type UnreadableLine,
} from './query.js';
export {
  type AuditLine,
  checkpointFiles,
  logFiles,
  type ReadLinesOptions,
  readAuditLines,
} from './reader.js';
export {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditRecord,
  type ChainFields,
  type ConsentLink,
  type DecisionEvent,
  type DroppedEvent,
  type OutcomeEvent,
  type PolicyEvent,
  type TransferLink,
  type WriterStartEvent,
  type WriterStopEvent,
} from './record.js';
export {
  type ProcessingEntry,
  type PurposeSummary,
  type SubjectHistory,
  subjectHistory,
} from './subject-history.js';
export { subjectKeyId } from './subject-key-id.js';
export {
  createTransferCounter,
  type TransferDestinationCount,
  type TransferStats,
  type TransferYearCount,
  transferStats,
} from './transfer-stats.js';
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

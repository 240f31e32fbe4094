export { canonicalize } from './canonical.js';
export { genesisHash, recordHash } from './chain.js';
export { type FileAuditSinkOptions, fileAuditSink } from './file-sink.js';
export { type MemoryAuditSink, memoryAuditSink } from './memory-sink.js';
export { createPseudonymizer } from './pseudonymize.js';
export {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditRecord,
  type ChainFields,
  type DecisionEvent,
  type WriterStartEvent,
  type WriterStopEvent,
} from './record.js';
export type { AuditSink, Enforcer } from './sink.js';
export {
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerification,
  verifyAuditLog,
} from './verify.js';

/**
 * PostgreSQL storage for the audit log: `pipl-guard/postgres`. Needs the optional peer dependency
 * `pg`; nothing else in pipl-guard imports it.
 */
export { type PgCheckpointOptions, pgCheckpoints } from './checkpoints.js';
export {
  AUDIT_TABLE_SQL,
  auditIdentifier,
  CHECKPOINT_ROLE_SQL,
  DEFAULT_AUDIT_TABLE,
  INSERT_ONLY_ROLE_SQL,
  migrateAuditTable,
  type PgQueryable,
} from './migration.js';
export { type PgAuditLinesOptions, pgAuditLines, pgChains } from './read.js';
export { type PostgresAuditSinkOptions, postgresAuditSink } from './sink.js';

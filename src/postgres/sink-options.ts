import type { Pool } from 'pg';
import type { Enforcer } from '../audit/sink.js';
import type { PgCheckpointOptions } from './checkpoints.js';

export interface PostgresAuditSinkOptions {
  /** The pool to write through. The sink never ends a pool it was given. Give it an `'error'` listener. */
  pool?: Pool;
  /** ... or a connection string: the sink creates its own pool and ends it on `close()`. */
  connectionString?: string;
  /**
   * This instance's chain name, e.g. `api-1` or the pod name. Required, and it must be unique per
   * running writer: a chain is gap-free (seq 0, 1, 2, ...) and each record links to the hash of the
   * one before, so only one process can extend it. Several API instances share the table, each
   * with its own chain; a restarted instance continues its chain where it left off. Two live
   * writers on one chain collide on `PRIMARY KEY (chain, seq)`: the loser stops accepting records.
   */
  chain: string;
  /** Table created by `migrateAuditTable` / `AUDIT_TABLE_SQL` (default `pipl_audit_log`). */
  table?: string;
  /** Run `migrateAuditTable` before starting (default false: migrate from a deploy step). */
  migrate?: boolean;
  /** Refuse new records (fail closed, 503) when this many are waiting to be written (default 10000). */
  maxQueueRecords?: number;
  /** Records per multi-row INSERT (default 1000). */
  maxBatchRecords?: number;
  /** After a failed INSERT, retry this often (default 1000 ms). While failing, the sink refuses records. */
  retryMs?: number;
  /**
   * An INSERT that has not completed after this long counts as failed (default 10000 ms), so a
   * database that stops answering makes the sink refuse records instead of hanging requests.
   */
  writeTimeoutMs?: number;
  enforcer?: Partial<Enforcer>;
  /** Called with each database error (failed writes, conflicts, fork markers, shipping), e.g. to log or alert. */
  onError?: (error: Error) => void;
  /**
   * Signed checkpoints in `<table>_cp` (see `CHECKPOINT_ROLE_SQL`), the same JWS as the file sink
   * writes. With them, a chain conflict (rows someone else appended to this chain) is survived:
   * the sink signs a fork marker naming the foreign rows, calls `onError`, re-seals its pending
   * records after them and carries on; verification flags the foreign rows as forged. Without
   * them a conflict stops the sink (503) until restart.
   */
  checkpoint?: PgCheckpointOptions;
}

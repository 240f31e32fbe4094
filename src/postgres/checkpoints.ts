import {
  type CheckpointPayload,
  type CheckpointSigner,
  checkpointDigest,
  signCheckpoint,
} from '../audit/checkpoint.js';
import {
  type CheckpointShippingOptions,
  checkpointShipper,
  type ShippedCheckpoint,
} from '../audit/checkpoint-shipper.js';
import { checkpointTable, DEFAULT_AUDIT_TABLE, type PgQueryable } from './migration.js';

/** Signed checkpoints for the PostgreSQL sink: the same JWS as the file sink writes. */
export interface PgCheckpointOptions extends CheckpointSigner {
  /** Issue one after this many new records (default 1000). */
  everyRecords?: number;
  /** ... and at least this often, even with no new records (default 60000 ms). */
  everyMs?: number;
  /**
   * Connection for `<table>_cp`, as the role of `CHECKPOINT_ROLE_SQL`: the records' insert-only
   * role cannot add checkpoints. Default: the sink's pool (which then needs INSERT there).
   */
  pool?: PgQueryable;
  /** Ship each checkpoint elsewhere too; called off the write path, bounded and retried. */
  onCheckpoint?: (checkpoint: ShippedCheckpoint) => void | Promise<void>;
  shipping?: CheckpointShippingOptions;
}

/**
 * The signed checkpoints of one chain, in the order they were issued: pass them to
 * `verifyAuditTrail` as `checkpoints` (the CLI does this for `postgres://` sources). Empty when
 * the table has no `<table>_cp` (a database migrated before checkpoints existed).
 *
 * @example
 * ```ts
 * const checkpoints = await pgCheckpoints(pool, { chain: 'api-1' });
 * const report = await verifyAuditTrail(pgAuditLines(pool, { chain: 'api-1' }), { keys, checkpoints });
 * ```
 */
export async function pgCheckpoints(
  pool: PgQueryable,
  options: { chain: string; table?: string },
): Promise<string[]> {
  const cp = checkpointTable(options.table ?? DEFAULT_AUDIT_TABLE);
  try {
    const { rows } = await pool.query<{ jws: string }>(
      `SELECT jws FROM "${cp}" WHERE chain = $1 ORDER BY n`,
      [options.chain],
    );
    return rows.map((row) => row.jws);
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') return [];
    throw error;
  }
}

/** Issues, stores and ships the checkpoints of one chain. One at a time (the caller serialises). */
export function pgCheckpointer(
  options: PgCheckpointOptions,
  where: { pool: PgQueryable; table: string; chain: string },
  onError: (error: Error) => void,
) {
  const pool = options.pool ?? where.pool;
  const cp = checkpointTable(where.table);
  const shipper = options.onCheckpoint
    ? checkpointShipper(options.onCheckpoint, onError, options.shipping)
    : undefined;
  let n = 0;
  let prevCheckpoint: string | null = null;

  /** Continues the checkpoint chain from the last stored one. */
  async function start(): Promise<void> {
    const { rows } = await pool.query<{ n_text: string; jws: string }>(
      `SELECT n::text AS n_text, jws FROM "${cp}" WHERE chain = $1 ORDER BY n DESC LIMIT 1`,
      [where.chain],
    );
    const last = rows[0];
    if (last) {
      n = Number(last.n_text) + 1;
      prevCheckpoint = checkpointDigest(last.jws);
    }
  }

  return {
    start,
    /** Signs and stores a checkpoint; throws when it cannot be stored. */
    async issue(fields: Omit<CheckpointPayload, 'type' | 'chain' | 'size' | 'prevCheckpoint' | 'issuedAt'>) {
      const payload: CheckpointPayload = {
        type: 'pipl-audit-checkpoint',
        chain: where.chain,
        size: fields.lastSeq + 1,
        prevCheckpoint,
        issuedAt: new Date().toISOString(),
        ...fields,
      };
      const jws = await signCheckpoint(payload, options);
      try {
        await pool.query(
          `INSERT INTO "${cp}" (chain, n, last_seq, trigger, issued_at, jws) VALUES ($1, $2, $3, $4, $5, $6)`,
          [where.chain, n, payload.lastSeq, payload.trigger, payload.issuedAt, jws],
        );
      } catch (error) {
        // n is taken: an earlier insert whose answer was lost (timeout) did commit. Continue the
        // checkpoint chain from what is stored, so the next attempt links to it.
        if ((error as { code?: unknown }).code === '23505') await start();
        throw error;
      }
      n++;
      prevCheckpoint = checkpointDigest(jws);
      shipper?.ship({ jws, payload });
    },
    stop(): Promise<void> {
      return shipper?.stop() ?? Promise.resolve();
    },
  };
}

export type PgCheckpointer = ReturnType<typeof pgCheckpointer>;

/**
 * Rows of `chain` after `afterSeq`: while the writer has nothing in flight, any such row was stored
 * by someone else. Returns the range and the hash of its last row, or undefined.
 */
export async function foreignRows(
  pool: PgQueryable,
  table: string,
  chain: string,
  afterSeq: number,
): Promise<{ fromSeq: number; toSeq: number; toHash: string } | undefined> {
  const { rows } = await pool.query<{ from_seq: string; to_seq: string; to_hash: string }>(
    `SELECT min(seq)::text AS from_seq, max(seq)::text AS to_seq,
            (array_agg(hash ORDER BY seq DESC))[1] AS to_hash
       FROM "${table}" WHERE chain = $1 AND seq > $2::bigint`,
    [chain, afterSeq],
  );
  const row = rows[0];
  if (!row || row.to_seq === null) return undefined;
  return { fromSeq: Number(row.from_seq), toSeq: Number(row.to_seq), toHash: row.to_hash };
}

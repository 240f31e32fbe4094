import type { Pool } from 'pg';
import { createBatchWriter } from '../audit/batch-writer.js';
import { ChainHead } from '../audit/chain.js';
import type { CheckpointPayload } from '../audit/checkpoint.js';
import { type AuditSink, defaultEnforcer, type Enforcer, sinkOnWriter } from '../audit/sink.js';
import { publishAuditHealth } from '../diagnostics/channels.js';
import { PiplConfigError } from '../errors/errors.js';
import { foreignRows, pgCheckpointer } from './checkpoints.js';
import { auditIdentifier, DEFAULT_AUDIT_TABLE, migrateAuditTable } from './migration.js';
import { ChainConflictError, type Entry, type Row, rowOf, withTimeout } from './rows.js';
import type { PostgresAuditSinkOptions } from './sink-options.js';

export type { PostgresAuditSinkOptions } from './sink-options.js';

/**
 * An audit sink that writes hash-chained records to PostgreSQL, so several API instances can share
 * one audit table (one chain each; see `chain`).
 *
 * Records are sealed (seq, prev, hash) on the caller's thread in call order, exactly as in the file
 * sink, and queued; a drain loop writes everything queued while the previous INSERT was in flight
 * as one multi-row INSERT. A `durable` append resolves after its batch's INSERT has committed
 * (several concurrent records share one commit); a buffered append returns at once and is written
 * within milliseconds. Durable means as durable as the server's `synchronous_commit` makes a commit.
 *
 * When the database fails (down, connection killed, timeout), the failed batch is kept and retried
 * every `retryMs`; nothing sealed is skipped, so the chain has no holes. Meanwhile `healthy` is
 * false, `append` throws `audit_unavailable` (guards fail closed with 503) and durable appends
 * waiting on the failed batch are rejected. A retry after an ambiguous failure (the commit reached
 * the server but the answer was lost) is safe: the primary key rejects the duplicate and the sink
 * checks the stored hashes are its own. Fail-open decisions refused meanwhile are counted and a
 * `dropped` record is written on recovery.
 *
 * Opening continues the chain from its last row and writes a `writer_start` record noting whether
 * the previous writer closed cleanly (its last record was a `writer_stop`).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrateAuditTable, postgresAuditSink } from 'pipl-guard/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.on('error', (error) => log.warn(error));
 * await migrateAuditTable(pool); // or from a deploy step
 * const audit = await postgresAuditSink({ pool, chain: process.env.POD_NAME ?? 'api-1' });
 * process.on('SIGTERM', () => audit.close().then(() => pool.end()).then(() => process.exit(0)));
 * ```
 */
export async function postgresAuditSink(options: PostgresAuditSinkOptions): Promise<AuditSink> {
  const chain = options.chain;
  if (typeof chain !== 'string' || chain.length === 0) {
    throw new PiplConfigError(
      'postgresAuditSink: `chain` is required, one per writer (e.g. the instance name)',
    );
  }
  const table = auditIdentifier(options.table ?? DEFAULT_AUDIT_TABLE);
  const maxRecords = options.maxQueueRecords ?? 10_000;
  const maxBatch = options.maxBatchRecords ?? 1000;
  const retryMs = options.retryMs ?? 1000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const enforcer: Enforcer = { ...defaultEnforcer(), ...options.enforcer };
  const onError = (error: Error) => {
    try {
      options.onError?.(error);
    } catch {
      // A throwing error hook must not break the write loop.
    }
  };
  const cp = options.checkpoint;
  const cpEveryRecords = cp?.everyRecords ?? 1000;
  if (!(maxRecords > 0) || !(maxBatch > 0) || !(retryMs >= 0)) {
    throw new PiplConfigError(
      'postgresAuditSink: maxQueueRecords and maxBatchRecords must be > 0, retryMs ≥ 0',
    );
  }

  let pool: Pool;
  let ownPool = false;
  if (options.pool) {
    pool = options.pool;
  } else if (options.connectionString) {
    const pg = (await import('pg')).default;
    pool = new pg.Pool({
      connectionString: options.connectionString,
      application_name: `pipl-guard:${chain}`,
    });
    // An idle client whose connection dies emits 'error' on the pool; unhandled it would crash.
    pool.on('error', (error) => onError(error));
    ownPool = true;
  } else {
    throw new PiplConfigError('postgresAuditSink: pass `pool` or `connectionString`');
  }

  const insertSql = `INSERT INTO "${table}" (chain, seq, time, type, purpose, decision, reason, subject, hash, line)
SELECT $1::text, * FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`;

  async function insert(rows: readonly Row[]): Promise<void> {
    const params = [
      chain,
      rows.map((r) => r.seq),
      rows.map((r) => r.time),
      rows.map((r) => r.type),
      rows.map((r) => r.purpose),
      rows.map((r) => r.decision),
      rows.map((r) => r.reason),
      rows.map((r) => r.subject),
      rows.map((r) => r.hash),
      rows.map((r) => r.line),
    ];
    try {
      await withTimeout(pool.query(insertSql, params), writeTimeoutMs, 'audit INSERT');
    } catch (error) {
      if ((error as { code?: unknown }).code !== '23505') throw error;
      // Unique violation: either an earlier attempt of this very batch did commit (its answer was
      // lost), or another writer is extending this chain.
      if (await alreadyWritten(rows)) return;
      throw new ChainConflictError(chain, table);
    }
  }

  async function alreadyWritten(rows: readonly Row[]): Promise<boolean> {
    const { rows: stored } = await withTimeout(
      pool.query<{ seq_text: string; hash: string }>(
        `SELECT seq::text AS seq_text, hash FROM "${table}" WHERE chain = $1 AND seq = ANY($2::bigint[])`,
        [chain, rows.map((r) => r.seq)],
      ),
      writeTimeoutMs,
      'audit SELECT',
    );
    const hashes = new Map(stored.map((row) => [row.seq_text, row.hash]));
    return rows.every((row) => hashes.get(String(row.seq)) === row.hash);
  }

  // Start: continue this chain from its last row and record the (re)start.
  let head: ChainHead;
  /** Seq and hash of the newest row this writer has stored: the position checkpoints sign. */
  let writtenSeq = -1;
  let writtenHash = '';
  const checkpointer = cp ? pgCheckpointer(cp, { pool, table, chain }, onError) : undefined;
  try {
    if (options.migrate) await migrateAuditTable(pool, table);
    await checkpointer?.start();
    const { rows } = await pool.query<{ seq_text: string; hash: string; type: string }>(
      `SELECT seq::text AS seq_text, hash, type FROM "${table}" WHERE chain = $1 ORDER BY seq DESC LIMIT 1`,
      [chain],
    );
    const last = rows[0];
    head = last ? new ChainHead(chain, Number(last.seq_text) + 1, last.hash) : new ChainHead(chain);
    const start = head.seal({
      type: 'writer_start',
      cleanShutdown: last ? last.type === 'writer_stop' : true,
      enforcer,
    });
    await insert([rowOf(start.record, start.line)]);
    writtenSeq = start.record.seq;
    writtenHash = start.record.hash;
  } catch (error) {
    if (ownPool) await pool.end().catch(() => {});
    if (error instanceof PiplConfigError) throw error;
    const code = (error as { code?: unknown }).code;
    const hint =
      code === '42P01' ? ' (the table does not exist: run migrateAuditTable or AUDIT_TABLE_SQL first)' : '';
    throw new PiplConfigError(
      `Audit table ${table} cannot be opened for chain "${chain}": ${(error as Error).message}${hint}`,
    );
  }

  let sinceCheckpoint = 0;
  let firstTime: string | null = null;
  let lastTime: string | null = null;
  let checkpointDue: CheckpointPayload['trigger'] | undefined;
  /** When recent forks happened: many in a short time means a second live writer, not one forgery. */
  const forkTimes: number[] = [];

  const writer = createBatchWriter<Entry>({
    enforcer,
    maxQueueRecords: maxRecords,
    maxBatchRecords: maxBatch,
    retryMs,
    onError,
    onEvent: (event, detail) => publishAuditHealth('postgres', chain, event, detail),
    seal(event) {
      const { record, line } = head.seal(event);
      return { row: rowOf(record, line), event };
    },
    write: writeBatch,
    afterWrite() {
      if (cp && sinceCheckpoint >= cpEveryRecords) checkpointDue = 'records';
      return undefined;
    },
    // A due checkpoint goes first, so steady load cannot postpone it for ever.
    housekeeping: {
      due: () => checkpointDue !== undefined,
      run() {
        const trigger = checkpointDue as CheckpointPayload['trigger'];
        checkpointDue = undefined;
        return checkpointNow(trigger);
      },
    },
    isFatal: (error) => error instanceof ChainConflictError,
    onFatalLoss(buffered) {
      // Without a signing key no fork marker can be recorded: buffered records (already answered)
      // that were waiting cannot be stored. Say how many, so the hole is known.
      onError(
        new Error(
          `${buffered} buffered audit record(s) of chain "${chain}" cannot be stored after the chain conflict`,
        ),
      );
    },
  });

  /**
   * Inserts one batch. On a chain conflict (with checkpoints configured): signs a fork marker,
   * re-seals everything pending after the foreign rows and inserts again, so a decision answered
   * before the conflict is still stored and later requests are not refused.
   */
  async function writeBatch(batch: readonly Entry[]): Promise<void> {
    for (;;) {
      try {
        await insert(batch.map((entry) => entry.row));
      } catch (error) {
        if (!(error instanceof ChainConflictError) || !checkpointer || tooManyForks()) throw error;
        await fork();
        continue;
      }
      const last = batch.at(-1)?.row as Row;
      writtenSeq = last.seq;
      writtenHash = last.hash;
      sinceCheckpoint += batch.length;
      firstTime ??= batch[0]?.row.time ?? null;
      lastTime = last.time;
      return;
    }
  }

  function tooManyForks(): boolean {
    const now = Date.now();
    while (forkTimes.length > 0 && now - (forkTimes[0] as number) > 60_000) forkTimes.shift();
    return forkTimes.length >= 3;
  }

  /**
   * Someone else stored rows in this chain after our last one. Records a signed fork marker naming
   * them (it must be stored before we build on them: without it they would verify as ours), raises
   * the alarm, then continues the chain after them: every pending record is sealed again, in order,
   * with its original time. Our own rows before the fork are untouched.
   */
  async function fork(): Promise<void> {
    const foreign = await withTimeout(
      foreignRows(pool, table, chain, writtenSeq),
      writeTimeoutMs,
      'audit SELECT',
    );
    if (!foreign) return; // gone (cannot happen with append-only triggers): just try again
    forkTimes.push(Date.now());
    await withTimeout(
      (checkpointer as NonNullable<typeof checkpointer>).issue({
        lastSeq: writtenSeq,
        lastHash: writtenHash,
        firstTime,
        lastTime,
        trigger: 'fork',
        fork: foreign,
      }),
      writeTimeoutMs,
      'audit fork marker',
    );
    onError(new ChainConflictError(chain, table, foreign));
    head = new ChainHead(chain, foreign.toSeq + 1, foreign.toHash);
    const { inflight, queued } = writer.pending();
    for (const entry of [...(inflight ?? []), ...queued]) {
      const { record, line } = head.seal(entry.event, Date.parse(entry.row.time));
      entry.row = rowOf(record, line);
    }
    writtenSeq = foreign.toSeq;
    writtenHash = foreign.toHash;
    sinceCheckpoint = 0;
    firstTime = null;
  }

  /** Signs what is stored. Foreign rows after it are first recorded as a fork. */
  async function checkpointNow(trigger: CheckpointPayload['trigger']): Promise<void> {
    if (!checkpointer) return;
    try {
      if (await withTimeout(foreignRows(pool, table, chain, writtenSeq), writeTimeoutMs, 'audit SELECT')) {
        if (tooManyForks()) throw new ChainConflictError(chain, table);
        await fork();
      }
      await withTimeout(
        checkpointer.issue({ lastSeq: writtenSeq, lastHash: writtenHash, firstTime, lastTime, trigger }),
        writeTimeoutMs,
        'audit checkpoint',
      );
      sinceCheckpoint = 0;
      firstTime = null;
    } catch (error) {
      if (error instanceof ChainConflictError) throw error;
      // The records are stored; only their signature is late. Announce it and try at the next one.
      onError(new Error(`audit checkpoint not stored: ${(error as Error).message}`));
    }
  }

  let cpTimer: NodeJS.Timeout | undefined;
  if (checkpointer) {
    cpTimer = setInterval(() => {
      if (!writer.healthy) return;
      checkpointDue ??= 'interval';
      writer.kick();
    }, cp?.everyMs ?? 60_000);
    cpTimer.unref();
  }

  return sinkOnWriter(writer, async () => {
    try {
      await writer.stop({ type: 'writer_stop', enforcer });
      await checkpointNow('close');
    } finally {
      clearInterval(cpTimer);
      await checkpointer?.stop();
      if (ownPool) await pool.end().catch(() => {});
    }
  });
}

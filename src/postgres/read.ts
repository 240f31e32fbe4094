import type { AuditLine } from '../audit/reader.js';
import { auditIdentifier, DEFAULT_AUDIT_TABLE, type PgQueryable } from './migration.js';

export interface PgAuditLinesOptions {
  /** The chain to read: one writer's records. List them with {@link pgChains}. */
  chain: string;
  table?: string;
  /** Rows fetched per query (default 5000). */
  pageSize?: number;
}

/**
 * Streams one chain's stored lines in seq order, byte-exact, as {@link AuditLine}s: feed them to
 * `verifyAuditTrail` or `queryAudit` like a log file. Keyset pagination (`seq > last`), so memory
 * stays flat and no long transaction is held whatever the table size.
 *
 * `line` in each entry is `seq + 1` (the 1-based position the record has in its chain), and `file`
 * is `postgres:<table>/<chain>`, so problem reports point at the row.
 *
 * @example
 * ```ts
 * for (const chain of await pgChains(pool)) {
 *   const report = await verifyAuditTrail(pgAuditLines(pool, { chain }));
 *   console.log(chain, report.valid);
 * }
 * ```
 */
export async function* pgAuditLines(
  pool: PgQueryable,
  options: PgAuditLinesOptions,
): AsyncGenerator<AuditLine> {
  const table = auditIdentifier(options.table ?? DEFAULT_AUDIT_TABLE);
  const pageSize = options.pageSize ?? 5000;
  const file = `postgres:${table}/${options.chain}`;
  // The alias must differ from `seq`: ORDER BY would otherwise sort the text output column.
  const sql = `SELECT seq::text AS seq_text, line FROM "${table}" WHERE chain = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`;
  let last = '-1';
  for (;;) {
    const { rows } = await pool.query<{ seq_text: string; line: string }>(sql, [
      options.chain,
      last,
      pageSize,
    ]);
    for (const row of rows) {
      yield { text: row.line, file, line: Number(row.seq_text) + 1, torn: false };
    }
    const tail = rows.at(-1);
    if (!tail || rows.length < pageSize) return;
    last = tail.seq_text;
  }
}

/**
 * The chain names present in the table, sorted. Walks the primary key with a loose index scan, so it
 * stays fast on a large table.
 */
export async function pgChains(pool: PgQueryable, table: string = DEFAULT_AUDIT_TABLE): Promise<string[]> {
  const t = auditIdentifier(table);
  const { rows } = await pool.query<{ chain: string }>(
    `WITH RECURSIVE chains AS (
       (SELECT chain FROM "${t}" ORDER BY chain LIMIT 1)
       UNION ALL
       SELECT (SELECT n.chain FROM "${t}" n WHERE n.chain > c.chain ORDER BY n.chain LIMIT 1)
       FROM chains c WHERE c.chain IS NOT NULL
     )
     SELECT chain FROM chains WHERE chain IS NOT NULL`,
  );
  return rows.map((row) => row.chain);
}

/**
 * The real PostgreSQL the tests use: `DATABASE_URL`, else a server on 127.0.0.1:5432 if one answers.
 * When neither, the PostgreSQL tests skip and say how to run them (CI sets DATABASE_URL).
 */
import pg from 'pg';
import { probe } from './processes.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DATABASE_URL = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;

/** Is there a PostgreSQL to test against? If not, `what` is reported skipped, with how to run it. */
export async function postgresAvailable(what: string): Promise<boolean> {
  const available = process.env.DATABASE_URL !== undefined || (await probe('127.0.0.1', 5432, 500));
  if (!available) {
    console.warn(
      `${what} skipped: no PostgreSQL on 127.0.0.1:5432. Run with: DATABASE_URL=${DEFAULT_DATABASE_URL} npm test`,
    );
  }
  return available;
}

/** A pool the test owns; idle-client errors (killed backends) must not crash the run. */
export function makePool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, ...config });
  pool.on('error', () => {});
  return pool;
}

/**
 * Removes what a test created: audit tables with their checkpoint tables and trigger functions (DROP
 * is not blocked by the append-only triggers, only UPDATE/DELETE/TRUNCATE are), then roles.
 */
export async function dropAuditTables(
  admin: pg.Pool,
  tables: readonly string[],
  roles: readonly string[] = [],
): Promise<void> {
  for (const table of tables) {
    await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin.query(`DROP TABLE IF EXISTS "${table}_cp"`);
    await admin.query(`DROP FUNCTION IF EXISTS "${table}_append_only"()`);
  }
  for (const role of roles) {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (rowCount) {
      await admin.query(`DROP OWNED BY "${role}"`);
      await admin.query(`DROP ROLE "${role}"`);
    }
  }
}

/**
 * The table owner's (or a superuser's) tampering: the append-only triggers disabled, `statements` run,
 * the triggers back, in one transaction.
 */
export async function tamperAsOwner(
  admin: pg.Pool,
  table: string,
  statements: readonly string[],
): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query(`ALTER TABLE "${table}" DISABLE TRIGGER ALL`);
    for (const statement of statements) await client.query(statement);
    await client.query(`ALTER TABLE "${table}" ENABLE TRIGGER ALL`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

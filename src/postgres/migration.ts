import type { Pool, PoolClient } from 'pg';
import { PiplConfigError } from '../errors/errors.js';

/** Default table name of the PostgreSQL audit log. */
export const DEFAULT_AUDIT_TABLE = 'pipl_audit_log';

/**
 * Table names are spliced into SQL, so only plain lower-case identifiers are accepted: no quoting,
 * no schema prefix (the connection's `search_path` picks the schema). At most 40 characters, so
 * the derived index, function and trigger names stay under PostgreSQL's 63-byte limit.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** Returns `name` when it is a safe table or role name; throws a {@link PiplConfigError} otherwise. */
export function auditIdentifier(name: string, what = 'table'): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new PiplConfigError(
      `Invalid PostgreSQL audit ${what} name ${JSON.stringify(name)}: use lower-case letters, digits and _ (max 40, not starting with a digit)`,
    );
  }
  return name;
}

/**
 * The migration for the audit table, as plain SQL (run it with psql or your migration tool, or
 * call {@link migrateAuditTable}). Idempotent: safe to run on every deploy.
 *
 * - One row per record. `line` is the exact canonical JSON line the chain hash was computed over
 *   (without the trailing newline): the verifier checks it byte for byte. The other columns are
 *   copies for indexing and querying; only `line` is trusted.
 * - `PRIMARY KEY (chain, seq)`: each chain is gap-free and written by one writer. A second writer on
 *   the same chain, or a retried insert whose first attempt did commit, hits this constraint
 *   instead of forking the chain.
 * - Append-only: a `BEFORE UPDATE OR DELETE` row trigger and a `BEFORE TRUNCATE` statement trigger
 *   (row triggers do not fire on TRUNCATE) raise an exception. The table owner or a superuser can
 *   still disable triggers, so let the API connect as the insert-only role of
 *   {@link INSERT_ONLY_ROLE_SQL}; tampering by the owner is then what `verifyAuditTrail` and signed
 *   checkpoints kept elsewhere detect.
 *
 * Removing the table (after the retention period) is `DROP TABLE`, which the triggers do not block;
 * drop the `<table>_append_only()` function with it.
 */
export function AUDIT_TABLE_SQL(table: string = DEFAULT_AUDIT_TABLE): string {
  const t = auditIdentifier(table);
  return `CREATE TABLE IF NOT EXISTS "${t}" (
  chain    text        NOT NULL,
  seq      bigint      NOT NULL CHECK (seq >= 0),
  time     timestamptz NOT NULL,
  type     text        NOT NULL,
  purpose  text        NULL,
  decision text        NULL,
  reason   text        NULL,
  subject  text        NULL,
  hash     text        NOT NULL,
  line     text        NOT NULL,
  CONSTRAINT "${t}_pkey" PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS "${t}_time_idx" ON "${t}" (time);
CREATE INDEX IF NOT EXISTS "${t}_purpose_idx" ON "${t}" (purpose, time) WHERE purpose IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${t}_subject_idx" ON "${t}" (subject, time) WHERE subject IS NOT NULL;

CREATE OR REPLACE FUNCTION "${t}_append_only"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'pipl-guard audit table %: % is not allowed, the audit log is append-only', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$fn$;

DROP TRIGGER IF EXISTS "${t}_no_update_delete" ON "${t}";
CREATE TRIGGER "${t}_no_update_delete" BEFORE UPDATE OR DELETE ON "${t}"
  FOR EACH ROW EXECUTE FUNCTION "${t}_append_only"();
DROP TRIGGER IF EXISTS "${t}_no_truncate" ON "${t}";
CREATE TRIGGER "${t}_no_truncate" BEFORE TRUNCATE ON "${t}"
  FOR EACH STATEMENT EXECUTE FUNCTION "${t}_append_only"();

CREATE TABLE IF NOT EXISTS "${t}_cp" (
  chain     text        NOT NULL,
  n         bigint      NOT NULL CHECK (n >= 0),
  last_seq  bigint      NOT NULL,
  trigger   text        NOT NULL,
  issued_at timestamptz NOT NULL,
  jws       text        NOT NULL,
  CONSTRAINT "${t}_cp_pkey" PRIMARY KEY (chain, n)
);
DROP TRIGGER IF EXISTS "${t}_cp_no_update_delete" ON "${t}_cp";
CREATE TRIGGER "${t}_cp_no_update_delete" BEFORE UPDATE OR DELETE ON "${t}_cp"
  FOR EACH ROW EXECUTE FUNCTION "${t}_append_only"();
DROP TRIGGER IF EXISTS "${t}_cp_no_truncate" ON "${t}_cp";
CREATE TRIGGER "${t}_cp_no_truncate" BEFORE TRUNCATE ON "${t}_cp"
  FOR EACH STATEMENT EXECUTE FUNCTION "${t}_append_only"();
`;
}

/** Table of signed checkpoints beside an audit table: `<table>_cp`. */
export function checkpointTable(table: string = DEFAULT_AUDIT_TABLE): string {
  return `${auditIdentifier(table)}_cp`;
}

/**
 * SQL that sets up a role the API instances should connect as: it may INSERT (write records) and
 * SELECT (continue its chain on start, read and verify), nothing else. Without UPDATE, DELETE or
 * TRUNCATE, and without owning the table (so it cannot disable the triggers), an attacker holding
 * the application's credentials can add records but not rewrite or remove them.
 *
 * Run as the table owner. The role is created `NOLOGIN` when missing; grant it to the login role
 * the application uses (`GRANT pipl_audit_writer TO app_user;`) or connect with `-c role=...`.
 * Idempotent.
 */
export function INSERT_ONLY_ROLE_SQL(
  role = 'pipl_audit_writer',
  table: string = DEFAULT_AUDIT_TABLE,
): string {
  const r = auditIdentifier(role, 'role');
  const t = auditIdentifier(table);
  return `${createRoleSql(r)}
REVOKE ALL ON TABLE "${t}" FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE "${t}" FROM "${r}";
GRANT INSERT, SELECT ON TABLE "${t}" TO "${r}";
REVOKE ALL ON TABLE "${t}_cp" FROM PUBLIC;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE "${t}_cp" FROM "${r}";
GRANT SELECT ON TABLE "${t}_cp" TO "${r}";
`;
}

/**
 * SQL for the role that writes signed checkpoints into `<table>_cp` (INSERT and SELECT there,
 * SELECT on the audit table). The records' insert-only role gets no INSERT on `<table>_cp`, so
 * credentials that can append records cannot add checkpoints; give the sink's `checkpoint.pool`
 * this role. Checkpoints are signed, so even this role cannot forge one, only fail to add it.
 * Run as the table owner; idempotent.
 *
 * @example
 * ```ts
 * await admin.query(CHECKPOINT_ROLE_SQL('pipl_audit_checkpointer'));
 * ```
 */
export function CHECKPOINT_ROLE_SQL(
  role = 'pipl_audit_checkpointer',
  table: string = DEFAULT_AUDIT_TABLE,
): string {
  const r = auditIdentifier(role, 'role');
  const t = auditIdentifier(table);
  return `${createRoleSql(r)}
REVOKE ALL ON TABLE "${t}_cp" FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE "${t}_cp" FROM "${r}";
GRANT INSERT, SELECT ON TABLE "${t}_cp" TO "${r}";
GRANT SELECT ON TABLE "${t}" TO "${r}";
`;
}

/** Anything with pg's `query(text)`: a `Pool`, `PoolClient` or `Client`. */
export type PgQueryable = Pick<Pool | PoolClient, 'query'>;

/**
 * Creates (or brings up to date) the audit table, its indexes and append-only triggers. Runs as one
 * transaction under an advisory lock, so several instances may call it at start-up concurrently.
 * Needs a role that may create tables; in production run it once from a deploy step as the owner.
 */
export async function migrateAuditTable(
  pool: PgQueryable,
  table: string = DEFAULT_AUDIT_TABLE,
): Promise<void> {
  const sql = AUDIT_TABLE_SQL(table);
  // Several statements in one simple-protocol query run as one implicit transaction, so the
  // transaction-scoped advisory lock is held until the last statement is done.
  await pool.query(`SELECT pg_advisory_xact_lock(hashtext('pipl-guard:migrate:${table}'));\n${sql}`);
}

/** Creates the role `NOLOGIN` when it is missing (idempotent); `role` is a checked identifier. */
function createRoleSql(role: string): string {
  return `DO $do$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '${role}') THEN
    CREATE ROLE "${role}" NOLOGIN;
  END IF;
END
$do$;`;
}

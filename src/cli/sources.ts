import { statSync } from 'node:fs';
import type { AuditLine } from '../audit/reader.js';
import { readTimeline } from '../audit/reader.js';

/** A log source named on the command line: a file, a directory, or a PostgreSQL URL. */
export interface CliSource {
  /** The records as one timeline: a directory's instance logs are merged by time. */
  lines(maxLineBytes: number): AsyncIterable<AuditLine>;
  /** For files and directories: the path, so checkpoint files beside it are found. */
  path: string | undefined;
  /** For PostgreSQL: the chain's signed checkpoints, from `<table>_cp`. */
  checkpoints?: () => Promise<string[]>;
  /** For a database: the chain selected. */
  chain?: string;
  close(): Promise<void>;
}

export async function openSource(
  target: string,
  options: { chain?: string; table?: string },
): Promise<CliSource> {
  if (!/^postgres(ql)?:\/\//.test(target)) {
    if (options.table !== undefined) throw new UsageError('--table only applies to a postgres:// source');
    try {
      statSync(target);
    } catch (error) {
      throw new UsageError(`cannot read ${target}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return {
      lines: (maxLineBytes) => readTimeline(target, { maxLineBytes }),
      path: target,
      close: async () => {},
    };
  }
  const { pool, chains } = await openAuditTable(target, options.table);
  let chain = options.chain;
  try {
    if (chain) requireChain(chains, chain);
    else if (chains.length !== 1)
      throw new UsageError(
        `the database holds ${chains.length} chains (${chains.join(', ')}); pick one with --chain`,
      );
    else chain = chains[0] as string;
  } catch (error) {
    await pool.end();
    throw error;
  }
  const { pgAuditLines, pgCheckpoints } = await import('../postgres/index.js');
  const table = options.table;
  const selected = chain;
  return {
    lines: () => pgAuditLines(pool, { chain: selected, ...(table ? { table } : {}) }),
    checkpoints: () => pgCheckpoints(pool, { chain: selected, ...(table ? { table } : {}) }),
    path: undefined,
    chain: selected,
    close: () => pool.end(),
  };
}

/**
 * Opens a PostgreSQL audit table named on the command line and lists its chains; a table that cannot
 * be read is a usage error. `pg` is loaded only here, so the file-only CLI never needs it.
 */
export async function openAuditTable(
  target: string,
  table: string | undefined,
): Promise<{ pool: import('pg').Pool; chains: string[] }> {
  const { default: pg } = await import('pg');
  const { pgChains } = await import('../postgres/index.js');
  const pool = new pg.Pool({ connectionString: target, max: 2 });
  // An idle connection the server drops must not end the process.
  pool.on('error', () => {});
  try {
    return { pool, chains: await pgChains(pool, table) };
  } catch (error) {
    await pool.end();
    throw new UsageError(`cannot read the audit table: ${(error as Error).message}`);
  }
}

/** A chain asked for by name must be in the table. */
export function requireChain(chains: readonly string[], chain: string): void {
  if (!chains.includes(chain))
    throw new UsageError(`no chain "${chain}" in the audit table (chains: ${chains.join(', ') || 'none'})`);
}

/** Bad arguments or keys: exit code 2. */
export class UsageError extends Error {}

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
  // Loaded only here, so the file-only CLI never needs `pg`.
  const { default: pg } = await import('pg');
  const { pgAuditLines, pgChains, pgCheckpoints } = await import('../postgres/index.js');
  const pool = new pg.Pool({ connectionString: target, max: 2 });
  const table = options.table;
  let chain = options.chain;
  let chains: string[];
  try {
    chains = await pgChains(pool, table);
  } catch (error) {
    await pool.end();
    throw new UsageError(`cannot read the audit table: ${(error as Error).message}`);
  }
  if (chain && !chains.includes(chain)) {
    await pool.end();
    throw new UsageError(`no chain "${chain}" in the audit table (chains: ${chains.join(', ') || 'none'})`);
  }
  if (!chain) {
    if (chains.length !== 1) {
      await pool.end();
      throw new UsageError(
        `the database holds ${chains.length} chains (${chains.join(', ')}); pick one with --chain`,
      );
    }
    chain = chains[0] as string;
  }
  const selected = chain;
  return {
    lines: () => pgAuditLines(pool, { chain: selected, ...(table ? { table } : {}) }),
    checkpoints: () => pgCheckpoints(pool, { chain: selected, ...(table ? { table } : {}) }),
    path: undefined,
    chain: selected,
    close: () => pool.end(),
  };
}

/** Bad arguments or keys: exit code 2. */
export class UsageError extends Error {}

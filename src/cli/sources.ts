import type { AuditLine } from '../audit/reader.js';
import { readAuditLines } from '../audit/reader.js';

/** A log source named on the command line: a file, a directory, or a PostgreSQL URL. */
export interface CliSource {
  lines(): AsyncIterable<AuditLine>;
  /** For files: the path, so checkpoint files beside it are found. */
  path: string | undefined;
  /** For PostgreSQL: the chain's signed checkpoints, from `<table>_cp`. */
  checkpoints?: () => Promise<string[]>;
  close(): Promise<void>;
}

export async function openSource(
  target: string,
  options: { chain?: string; table?: string },
): Promise<CliSource> {
  if (!/^postgres(ql)?:\/\//.test(target)) {
    return { lines: () => readAuditLines(target), path: target, close: async () => {} };
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
    close: () => pool.end(),
  };
}

/** Bad arguments: exit code 2. */
export class UsageError extends Error {}

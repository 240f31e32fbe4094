import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { queryAudit, type UnreadableLine } from '../audit/query.js';
import type { AuditLine } from '../audit/reader.js';
import type { AuditRecord } from '../audit/record.js';
import { type Filters, maxLineBytes, observer } from './audit-options.js';
import type { Values } from './files.js';
import { say } from './output.js';
import { type CliSource, openSource, UsageError } from './sources.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses an audit command's arguments: one log, and only the options this command honours. */
export function parseAuditArgs(command: string, args: string[], options: Options) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options, strict: true });
  const target = positionals[0];
  if (!target) throw new UsageError(`audit ${command} needs a log: a file, a directory or a postgres:// URL`);
  if (positionals.length > 1)
    throw new UsageError(`audit ${command} takes one log, got ${positionals.length}`);
  return { values: values as Values, target };
}

/** Opens the source named on the command line. */
export function openAuditSource(target: string, values: Values): Promise<CliSource> {
  return openSource(target, {
    ...(values.chain ? { chain: values.chain as string } : {}),
    ...(values.table ? { table: values.table as string } : {}),
  });
}

const MAX_LISTED = 20;

/**
 * Reads the matching records of a source, for query, export and stats. Lines that are not
 * well-formed records are listed on stderr and make the run end with exit 1 (a bad log); a filter
 * that nothing in the log could match, or a wrong audit key, ends it with a usage error (exit 2)
 * once the log has been read — before anything but headers could have been printed.
 */
export function readRecords(source: CliSource, values: Values, filters: Filters) {
  const seen = observer();
  const bad: UnreadableLine[] = [];
  let badCount = 0;
  let torn = 0;
  const records = queryAudit(withProgress(source.lines(maxLineBytes(values)), values), filters.query, {
    maxLineBytes: maxLineBytes(values),
    observe: seen.observe,
    onUnreadable(line) {
      if (line.torn) {
        torn++;
        return;
      }
      badCount++;
      if (bad.length < MAX_LISTED) bad.push(line);
    },
  });
  return {
    records,
    /** After reading: throws the usage error a fruitless filter deserves, else reports and returns the exit code. */
    finish(matched: number): number {
      if (matched === 0) seen.check(filters);
      const notice = seen.keyNotice(filters);
      if (notice) say(process.stderr, `Notice: ${notice}`);
      if (torn > 0)
        say(
          process.stderr,
          `Notice: ${torn} incomplete final line(s) skipped (a write in progress, or torn)`,
        );
      for (const line of bad) say(process.stderr, `${line.file}:${line.line} INVALID: ${line.message}`);
      if (badCount > bad.length) say(process.stderr, `… and ${badCount - bad.length} more invalid lines`);
      if (badCount > 0) {
        say(
          process.stderr,
          `INVALID: ${badCount} line(s) are not audit records; the results above leave them out. Run \`pipl-guard audit verify\`.`,
        );
        return 1;
      }
      return 0;
    },
  };
}

export type { AuditRecord };

/** Reports every 100,000 lines read on stderr (for long runs on a terminal, or with --progress). */
async function* withProgress(lines: AsyncIterable<AuditLine>, values: Values): AsyncGenerator<AuditLine> {
  const show = values.progress === true || process.stderr.isTTY;
  let count = 0;
  for await (const line of lines) {
    count++;
    if (show && count % 100_000 === 0) process.stderr.write(`\r… ${count.toLocaleString('en')} records read`);
    yield line;
  }
  if (show && count >= 100_000) process.stderr.write('\n');
}

import { auditStats } from '../audit/query.js';
import { createTransferCounter } from '../audit/transfer-stats.js';
import { buildFilters, displayTime, FILTER_OPTIONS, FILTERS_HELP, SOURCE_OPTIONS } from './audit-options.js';
import { openAuditSource, parseAuditArgs, readRecords } from './audit-read.js';
import type { CliCommand } from './command.js';
import { jsonSafe, printable } from './output.js';

async function run(args: string[]): Promise<number> {
  const { values, target } = parseAuditArgs('stats', args, {
    ...SOURCE_OPTIONS,
    ...FILTER_OPTIONS,
    json: { type: 'boolean' },
    tz: { type: 'string' },
  });
  const time = displayTime(values);
  const filters = await buildFilters(values);
  const source = await openAuditSource(target, values);
  try {
    const read = readRecords(source, values, filters);
    const transfers = createTransferCounter();
    const result = await auditStats(transfers.tap(read.records));
    const crossBorder = transfers.result();
    const code = read.finish(result.records);
    if (values.json) {
      process.stdout.write(`${jsonSafe(JSON.stringify({ ...result, crossBorder }, null, 2))}\n`);
      return code;
    }
    const applied = Object.entries(filters.query)
      .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('|') : String(value)}`)
      .join(' ');
    const out = [
      `${result.decisions} decisions in ${result.records} records (${time(result.firstTime)} to ${time(result.lastTime)})`,
      `Filters: ${applied || 'none'}`,
    ];
    for (const [title, table] of [
      ['By decision', result.byDecision],
      ['By reason', result.byReason],
      ['By purpose', result.byPurpose],
      ['By category', result.byCategory],
    ] as const) {
      out.push(`${title}:`);
      for (const [key, n] of Object.entries(table).sort((a, b) => b[1] - a[1]))
        out.push(`  ${String(n).padStart(8)}  ${key}`);
    }
    // Art. 40 / 2024 Provisions Art. 5(4), 7, 8: thresholds count distinct people per calendar year.
    out.push('Cross-border subjects by year (all destinations; sensitive):');
    for (const row of crossBorder.byYear)
      out.push(
        `  ${row.year}  ${String(row.subjects).padStart(8)}  ${String(row.sensitiveSubjects).padStart(8)}`,
      );
    out.push('Cross-border subjects by year and destination (sensitive):');
    for (const row of crossBorder.byDestination)
      out.push(
        `  ${row.year}  ${String(row.subjects).padStart(8)}  ${String(row.sensitiveSubjects).padStart(8)}  ${row.country}  ${row.recipient}`,
      );
    process.stdout.write(`${out.map(printable).join('\n')}\n`);
    return code;
  } finally {
    await source.close();
  }
}

export const statsCommand: CliCommand = {
  name: 'audit stats',
  summary: 'decisions counted by decision, reason, purpose and category',
  usage: `Usage: pipl-guard audit stats <file|dir|postgres-url> [filters] [--json] [--tz <IANA zone>]

Counts the records every filter lets through (the same filters as \`audit query\`) and prints the
filters it applied. Exit codes as for \`audit query\`.

${FILTERS_HELP}
`,
  run,
};

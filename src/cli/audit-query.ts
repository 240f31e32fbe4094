import { CSV_COLUMNS, toCsvRow, toOcsf } from '../audit/export.js';
import type { DecisionEvent } from '../audit/record.js';
import { buildFilters, displayTime, FILTER_OPTIONS, FILTERS_HELP, SOURCE_OPTIONS } from './audit-options.js';
import { type AuditRecord, openAuditSource, parseAuditArgs, readRecords } from './audit-read.js';
import type { CliCommand } from './command.js';
import { jsonSafe, printable, streamTable } from './output.js';
import { UsageError } from './sources.js';

const FORMATS = ['table', 'jsonl', 'csv', 'ocsf'] as const;

const COLUMNS = [
  { title: 'time', max: 32 },
  { title: 'chain', max: 24 },
  { title: 'instance', max: 24 },
  { title: 'seq', max: 12, alignRight: true },
  { title: 'decision', max: 12 },
  { title: 'reason', max: 34 },
  { title: 'status', max: 6, alignRight: true },
  { title: 'purpose', max: 28 },
  { title: 'route', max: 32 },
  { title: 'actor', max: 24 },
  { title: 'subject', max: 20 },
];

async function run(name: 'query' | 'export', args: string[]): Promise<number> {
  const { values, target } = parseAuditArgs(name, args, {
    ...SOURCE_OPTIONS,
    ...FILTER_OPTIONS,
    format: { type: 'string' },
    tz: { type: 'string' },
  });
  const format = (values.format as string | undefined) ?? (name === 'export' ? 'jsonl' : 'table');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format is ${FORMATS.join(', ')}`);
  if (values.tz !== undefined && format !== 'table')
    throw new UsageError(
      '--tz changes how times are shown in the table; jsonl, csv and ocsf keep RFC 3339 UTC',
    );
  if (format === 'ocsf' && values.type && (values.type as string[]).some((type) => type !== 'decision'))
    throw new UsageError('--format ocsf exports decisions only: --type can only be decision');
  const time = displayTime(values);
  const filters = await buildFilters(values);
  const source = await openAuditSource(target, values);
  try {
    const read = readRecords(source, values, filters);
    const write = (line: string) => process.stdout.write(`${line}\n`);
    const table = format === 'table' ? streamTable(COLUMNS, write) : undefined;
    let matched = 0;
    for await (const record of read.records) {
      if (matched++ === 0 && format === 'csv') write(CSV_COLUMNS.join(','));
      if (format === 'jsonl') write(jsonSafe(JSON.stringify(record)));
      else if (format === 'csv') write(printable(toCsvRow(record)));
      else if (format === 'ocsf') {
        if (record.type === 'decision')
          write(jsonSafe(JSON.stringify(toOcsf(record as AuditRecord & DecisionEvent))));
      } else table?.row(cells(record, time));
    }
    const code = read.finish(matched);
    if (matched === 0 && format === 'csv') write(CSV_COLUMNS.join(','));
    if (table) {
      table.end();
      process.stderr.write(`${matched} records\n`);
    }
    return code;
  } finally {
    await source.close();
  }
}

function cells(record: AuditRecord, time: (iso: string) => string): string[] {
  const r = record as Partial<DecisionEvent> & AuditRecord;
  const enforcer = (r as { enforcer?: { instance?: string } }).enforcer;
  return [
    time(r.time),
    r.chain,
    enforcer?.instance ?? '',
    String(r.seq),
    r.decision ?? r.type,
    r.reason ?? '',
    r.status === undefined ? '' : String(r.status),
    r.purpose ?? '',
    r.route ?? '',
    r.actor?.id ?? '',
    r.subject ? `${r.subject.slice(0, 19)}…` : '',
  ];
}

export const queryCommand: CliCommand = {
  name: 'audit query',
  summary: 'records matching filters, as an aligned table, JSON lines, CSV or OCSF',
  usage: `Usage: pipl-guard audit query <file|dir|postgres-url> [filters] [--format table|jsonl|csv|ocsf] [--tz <IANA zone>]

A directory's instance logs are merged by time. The table shows time (in --tz, default UTC), chain,
instance, seq, decision, reason, status, purpose, route, actor and subject; long cells are cut with …
(jsonl and csv keep everything). Exit 0 done, 1 the log holds lines that are not records (listed on
stderr), 2 usage error, a filter value no record could have, or a wrong audit key.

${FILTERS_HELP}
`,
  run: (args) => run('query', args),
};

export const exportCommand: CliCommand = {
  name: 'audit export',
  summary: 'query, JSON lines by default, for SIEM pipelines',
  usage: `Usage: pipl-guard audit export <file|dir|postgres-url> [filters] [--format jsonl|csv|ocsf]

Same filters and exit codes as \`audit query\`; writes JSON lines unless --format says otherwise.
OCSF: API Activity (class 6003) events, one per decision.

${FILTERS_HELP}
`,
  run: (args) => run('export', args),
};

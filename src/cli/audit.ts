import { statSync } from 'node:fs';
import { CSV_COLUMNS, toCsvRow, toOcsf } from '../audit/export.js';
import { createPseudonymizer } from '../audit/pseudonymize.js';
import { type AuditQuery, auditStats, queryAudit } from '../audit/query.js';
import { activeLogs } from '../audit/reader.js';
import type { AuditRecord, DecisionEvent } from '../audit/record.js';
import { createTransferCounter } from '../audit/transfer-stats.js';
import { type AuditTrailReport, verifyAuditTrail } from '../audit/verify-trail.js';
import { readJson, readText, type Values } from './files.js';
import { type CliSource, UsageError } from './sources.js';

// `pipl-guard audit verify | query | export | stats`: what a compliance officer runs.

export async function verify(source: CliSource, values: Values): Promise<number> {
  const keys = values.keys ? readJson(values.keys as string, '--keys') : undefined;
  if (keys && !Array.isArray((keys as { keys?: unknown }).keys)) {
    throw new UsageError('--keys must be a JWKS file: {"keys": [...]}');
  }
  const trusted = values['trusted-checkpoint']
    ? readText(values['trusted-checkpoint'] as string).trim()
    : undefined;
  const progress = values.progress === true || process.stderr.isTTY;
  const options = {
    ...(keys ? { keys: keys as never } : {}),
    ...(trusted ? { trustedCheckpoint: trusted } : {}),
    ...(progress
      ? { onProgress: (n: number) => process.stderr.write(`\r… ${n.toLocaleString('en')} records`) }
      : {}),
  };
  // A directory holds one log per chain (instance): each is verified on its own.
  const targets =
    source.path && statSync(source.path).isDirectory() ? activeLogs(source.path) : [source.path];
  if (targets.length === 0) throw new UsageError(`no *.jsonl audit logs in ${source.path}`);
  const reports: { where: string | undefined; report: AuditTrailReport }[] = [];
  for (const where of targets) {
    const report = await verifyAuditTrail(where ?? source.lines(), options);
    if (progress && report.records.total >= 100_000) process.stderr.write('\n');
    reports.push({ where, report });
  }
  const valid = reports.every(({ report }) => report.valid);
  if (values.json) {
    const body =
      reports.length === 1
        ? reports[0]?.report
        : reports.map(({ where, report }) => ({ file: where, ...report }));
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`${reports.map(({ where, report }) => describe(report, where)).join('\n\n')}\n`);
  }
  return valid ? 0 : 1;
}

/** The report as an auditor reads it: each invalid item, notices, then the totals. */
function describe(report: AuditTrailReport, where: string | undefined): string {
  const out: string[] = [];
  out.push(`Verifying chain ${report.chain ?? '(empty)'}${where ? ` in ${where}` : ''}`);
  if (report.checkpoints.kids.length > 0) {
    out.push(`Keys used: ${report.checkpoints.kids.map((kid) => `kid ${kid}`).join(', ')}`);
  }
  for (const problem of report.problems) out.push(`  ${problem.message}`);
  for (const notice of report.notices) out.push(`  Notice: ${notice}`);
  if (report.records.total === 0)
    out.push('  Notice: the log holds no records; an empty log proves nothing by itself');
  if (report.checkpoints.total === 0 && report.records.total > 0) {
    out.push(
      '  Notice: no signed checkpoints: edits and gaps show, a consistent rewrite or a cut tail would not',
    );
  } else if (report.unsignedTail > 0) {
    out.push(`  Tail: ${report.unsignedTail} records after the last checkpoint (unsigned)`);
  }
  out.push(
    `Results found for seq ${report.firstSeq ?? '-'}..${report.lastSeq ?? '-'} (${report.firstTime ?? '-'} to ${report.lastTime ?? '-'}):`,
  );
  const { checkpoints, records } = report;
  out.push(
    `  ${checkpoints.valid}/${checkpoints.total} checkpoints valid${checkpoints.invalid ? `, ${checkpoints.invalid} INVALID` : ''}`,
  );
  const good = records.total - records.invalid;
  out.push(
    `  ${good}/${records.total} records valid${records.invalid ? `, ${records.invalid} INVALID` : ''}`,
  );
  out.push(report.valid ? 'VALID' : `INVALID: ${report.problems.length} problem(s)`);
  return out.join('\n');
}

function buildQuery(values: Values): AuditQuery {
  const q: AuditQuery = {};
  for (const key of ['from', 'to'] as const) {
    const value = values[key] as string | undefined;
    if (value !== undefined) {
      if (Number.isNaN(Date.parse(value)))
        throw new UsageError(`--${key} must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z`);
      q[key] = value;
    }
  }
  for (const key of ['purpose', 'category', 'reason', 'actor', 'route'] as const) {
    const value = values[key] as string | undefined;
    if (value !== undefined) q[key] = value;
  }
  if (values.decision !== undefined) {
    if (!['allow', 'deny', 'degrade'].includes(values.decision as string))
      throw new UsageError('--decision is allow, deny or degrade');
    q.decision = values.decision as AuditQuery['decision'] & string;
  }
  if (values.type) q.types = values.type as AuditRecord['type'][];
  if (values['subject-hmac']) q.subject = values['subject-hmac'] as string;
  if (values.subject) {
    const key = values['audit-key-file']
      ? readText(values['audit-key-file'] as string).trim()
      : process.env.PIPL_AUDIT_KEY;
    if (!key)
      throw new UsageError('--subject needs the audit key: set PIPL_AUDIT_KEY or pass --audit-key-file');
    try {
      q.subject = createPseudonymizer(key)(values.subject as string);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return q;
}

export async function query(source: CliSource, values: Values): Promise<number> {
  const format = (values.format as string | undefined) ?? 'table';
  if (!['table', 'jsonl', 'csv', 'ocsf'].includes(format))
    throw new UsageError('--format is table, jsonl, csv or ocsf');
  const records = queryAudit(withProgress(source.lines(), values), buildQuery(values));
  const write = (line: string) => process.stdout.write(`${line}\n`);
  if (format === 'csv') write(CSV_COLUMNS.join(','));
  if (format === 'table')
    write(['time', 'seq', 'decision', 'reason', 'status', 'purpose', 'route', 'subject'].join('\t'));
  let count = 0;
  for await (const record of records) {
    count++;
    if (format === 'jsonl') write(JSON.stringify(record));
    else if (format === 'csv') write(toCsvRow(record));
    else if (format === 'ocsf') {
      if (record.type === 'decision') write(JSON.stringify(toOcsf(record as AuditRecord & DecisionEvent)));
    } else {
      const r = record as Partial<DecisionEvent> & AuditRecord;
      const subject = r.subject ? `${r.subject.slice(0, 24)}…` : '';
      write(
        [
          r.time,
          r.seq,
          r.decision ?? r.type,
          r.reason ?? '',
          r.status ?? '',
          r.purpose ?? '',
          r.route ?? '',
          subject,
        ].join('\t'),
      );
    }
  }
  if (format === 'table') process.stderr.write(`${count} records\n`);
  return 0;
}

export async function stats(source: CliSource, values: Values): Promise<number> {
  const q: AuditQuery = {};
  if (values.from) q.from = values.from as string;
  if (values.to) q.to = values.to as string;
  const transfers = createTransferCounter();
  const result = await auditStats(transfers.tap(queryAudit(withProgress(source.lines(), values), q)));
  const crossBorder = transfers.result();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...result, crossBorder }, null, 2)}\n`);
    return 0;
  }
  const out = [
    `${result.decisions} decisions in ${result.records} records (${result.firstTime ?? '-'} to ${result.lastTime ?? '-'})`,
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
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** Reports every 100,000 lines read on stderr (for long runs on a terminal, or with --progress). */
async function* withProgress<T>(lines: AsyncIterable<T>, values: Values): AsyncGenerator<T> {
  const show = values.progress === true || process.stderr.isTTY;
  let count = 0;
  for await (const line of lines) {
    count++;
    if (show && count % 100_000 === 0) process.stderr.write(`\r… ${count.toLocaleString('en')} records read`);
    yield line;
  }
  if (show && count >= 100_000) process.stderr.write('\n');
}

import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { queryAudit } from '../audit/query.js';
import { activeLogs } from '../audit/reader.js';
import { verifyAuditTrail } from '../audit/verify-trail.js';
import { LANGS, type Lang } from '../records/labels.js';
import { aggregateReport } from '../report/aggregate.js';
import { loadEcharts } from '../report/charts.js';
import { type ChainVerification, reportHtml } from '../report/html.js';
import type { CliCommand } from './command.js';
import { readJson } from './files.js';
import { UsageError } from './sources.js';

function time(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z`);
  return new Date(ms).toISOString();
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      lang: { type: 'string', default: 'en' },
      keys: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  const [target, extra] = positionals;
  if (!target || extra !== undefined) throw new UsageError('report needs exactly one log file or directory');
  if (/^postgres(ql)?:\/\//.test(target))
    throw new UsageError('report reads log files and directories; PostgreSQL sources are not supported yet');
  if (!values.out) throw new UsageError('report needs --out <file.html>');
  const lang = values.lang as Lang;
  if (!LANGS.includes(lang)) throw new UsageError(`--lang is one of ${LANGS.join(', ')}`);
  const from = time(values.from, '--from');
  const to = time(values.to, '--to');
  let keys: JSONWebKeySet | undefined;
  if (values.keys) {
    keys = readJson(values.keys, '--keys') as JSONWebKeySet;
    if (!Array.isArray(keys?.keys) || keys.keys.length === 0)
      throw new UsageError('--keys must be a JWKS file with at least one public key: {"keys": [{"kty": …}]}');
  }
  let files: string[];
  try {
    files = statSync(target).isDirectory() ? activeLogs(target) : [target];
  } catch (error) {
    throw new UsageError(`cannot read ${target}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (files.length === 0) throw new UsageError(`no *.jsonl audit logs in ${target}`);
  // Before any reading: a missing chart library is a usage error, not a half-written report.
  const echarts = await loadEcharts();

  const verification: ChainVerification[] = [];
  for (const file of files)
    verification.push({
      file,
      report: await verifyAuditTrail(file, keys ? { keys } : {}),
      keysGiven: !!keys,
    });
  const data = await aggregateReport(
    queryAudit(target, { ...(from ? { from } : {}), ...(to ? { to } : {}) }),
  );
  const html = reportHtml(echarts, {
    lang,
    source: target,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    generatedAt: new Date().toISOString(),
    verification,
    data,
  });
  writeFileSync(values.out, html);
  const valid = verification.every((v) => v.report.valid);
  process.stdout.write(
    `${values.out}: ${data.decisions} decisions in ${data.records} records; log ${valid ? 'VALID' : 'INVALID'}\n`,
  );
  return valid ? 0 : 1;
}

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'one self-contained HTML report: verification, then charts',
  usage: `Usage: pipl-guard report <file|dir> --out report.html [--from <time>] [--to <time>] [--lang zh-CN|en] [--keys jwks.json]

Writes one HTML file that opens offline (inline CSS and SVG, no script, nothing fetched): the
verification result and checkpoint coverage of every chain first, then charts with their counts:
decisions over time by purpose, denials by reason, sensitive-PI and children's decisions, provisions by
recipient, cross-border transfers by country and recipient (distinct subjects per year), withdrawals
and opt-outs, records per instance chain. --from (inclusive) and --to (exclusive) select the records
the charts count; verification always covers whole chains. Needs the optional package echarts
(npm install echarts@6). Exit codes: 0 written and the log is valid, 1 written and the log is
invalid, 2 usage or key error (nothing written).
`,
  run,
};

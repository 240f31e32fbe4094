import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { queryAudit } from '../audit/query.js';
import { activeLogs, mergeByTime } from '../audit/reader.js';
import type { AuditRecord } from '../audit/record.js';
import { verifyAuditTrail } from '../audit/verify-trail.js';
import { LANGS, type Lang } from '../records/labels.js';
import { aggregateReport } from '../report/aggregate.js';
import { loadEcharts } from '../report/charts.js';
import { type ChainVerification, reportHtml } from '../report/html.js';
import type { CliCommand } from './command.js';
import { readJson } from './files.js';
import { openAuditTable, requireChain, UsageError } from './sources.js';

function time(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z`);
  return new Date(ms).toISOString();
}

/** Where the report reads: verification per chain, and the records the charts count. */
interface ReportSource {
  /** Shown in the report and on stdout: never a password. */
  label: string;
  verify(keys: JSONWebKeySet | undefined): Promise<ChainVerification[]>;
  records(range: { from?: string; to?: string }): AsyncIterable<AuditRecord>;
  close(): Promise<void>;
}

function fileSource(target: string): ReportSource {
  let files: string[];
  try {
    files = statSync(target).isDirectory() ? activeLogs(target) : [target];
  } catch (error) {
    throw new UsageError(`cannot read ${target}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (files.length === 0) throw new UsageError(`no *.jsonl audit logs in ${target}`);
  return {
    label: target,
    async verify(keys) {
      const verification: ChainVerification[] = [];
      for (const file of files)
        verification.push({
          file,
          report: await verifyAuditTrail(file, keys ? { keys } : {}),
          keysGiven: !!keys,
        });
      return verification;
    },
    records: (range) => queryAudit(target, range),
    close: async () => {},
  };
}

/** The URL without its user, password and parameters (which may carry a password too). */
function redactedUrl(target: string): string {
  try {
    const url = new URL(target);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return 'postgres://…';
  }
}

/**
 * A PostgreSQL audit table: every chain in it (or the one `--chain` names), each verified on its own
 * with its checkpoints from `<table>_cp`, and all of them merged by time for the charts.
 */
async function postgresSource(
  target: string,
  table: string | undefined,
  only: string | undefined,
): Promise<ReportSource> {
  const { DEFAULT_AUDIT_TABLE, pgAuditLines, pgCheckpoints } = await import('../postgres/index.js');
  const label = redactedUrl(target);
  const opened = await openAuditTable(target, table);
  const pool = opened.pool;
  let chains = opened.chains;
  try {
    if (only !== undefined) {
      requireChain(chains, only);
      chains = [only];
    }
    if (chains.length === 0) throw new UsageError(`the audit table at ${label} holds no records`);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const lines = (chain: string) => pgAuditLines(pool, { chain, ...(table ? { table } : {}) });
  return {
    label: table ? `${label} (table ${table})` : label,
    async verify(keys) {
      const verification: ChainVerification[] = [];
      for (const chain of chains) {
        const checkpoints = await pgCheckpoints(pool, { chain, ...(table ? { table } : {}) });
        verification.push({
          file: `postgres:${table ?? DEFAULT_AUDIT_TABLE}/${chain}`,
          report: await verifyAuditTrail(lines(chain), { checkpoints, ...(keys ? { keys } : {}) }),
          keysGiven: !!keys,
        });
      }
      return verification;
    },
    records: (range) => queryAudit(mergeByTime(chains.map(lines)), range),
    close: () => pool.end(),
  };
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
      chain: { type: 'string' },
      table: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  const [target, extra] = positionals;
  if (!target || extra !== undefined)
    throw new UsageError('report needs exactly one log file, directory or postgres:// URL');
  const postgres = /^postgres(ql)?:\/\//.test(target);
  if (!postgres && (values.chain !== undefined || values.table !== undefined))
    throw new UsageError('--chain and --table only apply to a postgres:// source');
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
  const source = postgres ? undefined : fileSource(target);
  // Before any reading: a missing chart library is a usage error, not a half-written report.
  const echarts = await loadEcharts();
  const opened = source ?? (await postgresSource(target, values.table, values.chain));
  try {
    const verification = await opened.verify(keys);
    const data = await aggregateReport(opened.records({ ...(from ? { from } : {}), ...(to ? { to } : {}) }));
    const html = reportHtml(echarts, {
      lang,
      source: opened.label,
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
  } finally {
    await opened.close();
  }
}

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'one self-contained HTML report: verification, then charts',
  usage: `Usage: pipl-guard report <file|dir|postgres-url> --out report.html [--from <time>] [--to <time>] [--lang zh-CN|en] [--keys jwks.json]
       [--chain <name>] [--table <name>]   (postgres:// only)

Writes one HTML file that opens offline (inline CSS and SVG, no script, nothing fetched): the
verification result and checkpoint coverage of every chain first, then charts with their counts:
decisions over time by purpose, denials by reason, sensitive-PI and children's decisions, provisions by
recipient, cross-border transfers by country and recipient (distinct subjects per year), withdrawals
and opt-outs, records per instance chain. --from (inclusive) and --to (exclusive) select the records
the charts count; verification always covers whole chains. A postgres:// source reports every chain in
the audit table (--table, default pipl_audit_log), each verified with its checkpoints from <table>_cp,
or the one --chain names; the report shows the URL without user, password or parameters. Needs the optional package echarts
(npm install echarts@6). Exit codes: 0 written and the log is valid, 1 written and the log is
invalid, 2 usage or key error (nothing written).
`,
  run,
};

/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/sources.js';
import { loadEcharts } from '../src/report/charts.js';
import { runCli } from './support/processes.js';
import { writeReportLogs } from './support/report-log.js';

// `pipl-guard report` (issue 11 item 2): one HTML file, opened from file:// in headless Chromium with
// every non-file request blocked; its totals are compared with `audit stats` on the same log.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`report browser tests skipped: no ${CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)`);

let dir: string;
let logs: string;
let jwks: string;
let browser: Browser | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-report-'));
  logs = join(dir, 'logs');
  mkdirSync(logs);
  ({ jwks } = await writeReportLogs(logs));
  if (haveChromium)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Opens a report from file://; fails on any console error, page error or non-file request. */
async function open(path: string, screenshot?: string) {
  if (!browser) throw new Error('no browser');
  const context = await browser.newContext({ viewport: { width: 960, height: 1400 } });
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`file://${path}`);
  await page.waitForLoadState('load');
  const shown = await page.evaluate(() => {
    const totals: Record<string, { total: number | null; svg: number; rows: Record<string, number> }> = {};
    for (const figure of document.querySelectorAll('figure[data-chart]')) {
      const rows: Record<string, number> = {};
      for (const row of figure.querySelectorAll('details table tr')) {
        const cells = [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '');
        if (cells.length === 2) rows[cells[0] as string] = Number(cells[1]);
      }
      const total = figure.querySelector('[data-total]')?.textContent;
      totals[figure.id] = {
        total: total === undefined || total === null ? null : Number(total),
        svg: figure.querySelectorAll('svg').length,
        rows,
      };
    }
    return {
      verdict: document.querySelector('#verdict')?.textContent,
      decisions: Number(document.querySelector('#decision-total')?.textContent),
      figures: totals,
      title: document.title,
      subjects: [...document.querySelectorAll('#transfer-subjects tr')].map((row) =>
        [...row.querySelectorAll('td')].map((cell) => cell.textContent),
      ),
    };
  });
  if (screenshot) await page.screenshot({ path: screenshot });
  await context.close();
  return { blocked, errors, shown };
}

async function stats(args: string[]) {
  const result = await runCli(['audit', 'stats', logs, '--json', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as {
    decisions: number;
    byDecision: Record<string, number>;
    byReason: Record<string, number>;
    byPurpose: Record<string, number>;
  };
}

describe.skipIf(!haveChromium)('pipl-guard report in headless Chromium', { timeout: 120_000 }, () => {
  it('opens offline with no console error and no request, verification first, totals equal to audit stats', async () => {
    const out = join(dir, 'report.html');
    const result = await runCli(['report', logs, '--out', out, '--keys', jwks]);
    expect(result.code, result.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    // Self-contained: no script, no link, no external reference of any kind.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    // The only URLs are the SVG and XLink namespace names, which are never fetched.
    const urls = new Set(html.match(/https?:\/\/[^"' ]*/g));
    expect([...urls].sort()).toEqual(['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
    expect(html.indexOf('id="verification"')).toBeLessThan(html.indexOf('<figure'));
    expect(html).toContain('2 / 2');
    expect(html).toContain('<td class="n">70</td><td>SHA-256</td>');

    const { blocked, errors, shown } = await open(out, process.env.REPORT_SCREENSHOT);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    expect(shown.verdict).toBe('VALID');

    const expected = await stats([]);
    expect(shown.decisions).toBe(expected.decisions);
    const f = shown.figures;
    expect(Object.keys(f)).toEqual([
      'decisions',
      'denials',
      'sensitive',
      'minors',
      'provisions',
      'transfers',
      'withdrawals',
      'opt-outs',
      'chains',
    ]);
    for (const [id, figure] of Object.entries(f)) expect(figure.svg, id).toBe(1);
    expect(f.decisions?.total).toBe(expected.decisions);
    expect(f.decisions?.rows).toEqual(expected.byPurpose);
    expect(f.denials?.total).toBe(expected.byDecision.deny);
    expect(f.denials?.rows).toEqual({
      consent_missing: expected.byReason.consent_missing,
      guardian_consent_required: 2,
    });
    // medical_health: health.records (10) and health.abroad (10).
    expect(f.sensitive?.rows).toEqual({ allow: 14, deny: 6 });
    // Guardian consent (allowed) and the guardian_consent_required denials.
    expect(f.minors?.rows).toEqual({ allow: 10, deny: 2 });
    expect(expected.byPurpose['kids.learning']).toBe(12);
    expect(f.provisions?.rows).toEqual({
      'AdCo (provide)': 10,
      'CloudCo (entrust)': 10,
      'none recorded (provide)': 2,
    });
    expect(f.transfers?.rows).toEqual({
      'SG · Acme Health SG': 10,
      'DE · HelpDesk GmbH': 10,
      'none recorded · none recorded': 2,
    });
    // Distinct subjects per year and destination, counted here straight from the log lines.
    const distinct = new Map<string, Set<string>>();
    for (const file of ['api-1.jsonl', 'api-2.jsonl'])
      for (const line of readFileSync(join(logs, file), 'utf8').trim().split('\n')) {
        const r = JSON.parse(line);
        if (r.operation !== 'cross_border' || r.decision === 'deny') continue;
        const to = r.transfer ?? r.crossBorder;
        const key = `${r.time.slice(0, 4)}|${to?.country ?? 'none recorded'}|${to?.recipient ?? 'none recorded'}`;
        distinct.set(key, (distinct.get(key) ?? new Set()).add(r.subject));
      }
    expect(shown.subjects.filter((row) => row.length > 0)).toEqual(
      [...distinct].sort().map(([key, set]) => [...key.split('|'), String(set.size)]),
    );
    expect(distinct.size).toBe(3);
    expect(f.withdrawals?.rows).toEqual({ 'purpose · done': 6, 'all · done': 2, 'all · failed': 2 });
    expect(f['opt-outs']?.rows).toEqual({ 'marketing · opt-out · done': 8, 'marketing · opt-in · done': 2 });
    expect(f.chains?.rows).toEqual({ 'api-1': 70, 'api-2': 70 });
  });

  it('--from/--to select the records the charts count, as audit stats does; labels in Chinese', async () => {
    const out = join(dir, 'range.html');
    const range = ['--from', '2026-11-02T00:00:00Z', '--to', '2026-11-04T00:00:00Z'];
    const result = await runCli(['report', logs, '--out', out, '--lang', 'zh-CN', ...range]);
    expect(result.code, result.stderr).toBe(0);
    const { blocked, errors, shown } = await open(out);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    expect(shown.title).toBe('个人信息保护审计报告');
    expect(shown.verdict).toBe('有效');
    const expected = await stats(range);
    expect(shown.decisions).toBe(expected.decisions);
    expect(shown.figures.decisions?.rows).toEqual(expected.byPurpose);
    expect(shown.figures.denials?.total).toBe(expected.byDecision.deny);
    expect(readFileSync(out, 'utf8')).toContain('未校验（未提供公钥）');
  });

  it('a tampered log: exit 1, INVALID up front with the problem named', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    const lines = readFileSync(join(logs, 'api-1.jsonl'), 'utf8').split('\n');
    lines[5] = (lines[5] as string).replace('"status":200', '"status":201');
    writeFileSync(join(bad, 'api-1.jsonl'), lines.join('\n'));
    const out = join(dir, 'bad.html');
    const result = await runCli(['report', bad, '--out', out]);
    expect(result.code).toBe(1);
    const { errors, shown } = await open(out);
    expect(errors).toEqual([]);
    expect(shown.verdict).toBe('INVALID');
    expect(readFileSync(out, 'utf8')).toMatch(/seq 5 INVALID: record modified/);
  });
});

describe('pipl-guard report without a browser', { timeout: 60_000 }, () => {
  it('says how to install echarts when it is absent (a usage error)', async () => {
    // A UsageError: the CLI's main maps it to exit 2 before anything is read or written.
    const failure = await loadEcharts('echarts-that-is-not-installed').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toMatch(/npm install echarts@6/);
  });

  it('escapes text from the log in the page and in the SVG', async () => {
    const evil = join(dir, 'evil');
    mkdirSync(evil);
    const lines = readFileSync(join(logs, 'api-1.jsonl'), 'utf8').split('\n').slice(0, 3);
    writeFileSync(join(evil, 'a.jsonl'), `${lines.join('\n')}\n`);
    // A purpose name is not checked by the writer's caller in plain JavaScript: make one hostile.
    const { fileAuditSink } = await import('../src/index.js');
    const sink = fileAuditSink({ path: join(evil, 'b.jsonl'), chain: 'b' });
    sink.append({
      type: 'decision',
      requestId: 'x',
      actor: null,
      subject: null,
      method: 'GET',
      route: '/',
      categories: ['contact'],
      operation: 'use',
      basis: 'contract',
      consent: null,
      decision: 'deny',
      reason: 'lawful_basis',
      status: 403,
      enforcer: { service: 's', instance: 'i', version: '0' },
      purpose: '<img src=x onerror=alert(1)>',
    } as never);
    await sink.close();
    const out = join(dir, 'evil.html');
    const result = await runCli(['report', join(evil, 'b.jsonl'), '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('refuses bad arguments with exit 2 and writes nothing', async () => {
    const out = join(dir, 'never.html');
    const cases: [string[], RegExp][] = [
      [[logs], /needs --out/],
      [[logs, '--out', out, '--lang', 'fr'], /--lang is one of/],
      [[logs, '--out', out, '--from', 'yesterday'], /--from must be an RFC 3339 time/],
      [[join(dir, 'missing'), '--out', out], /cannot read/],
      [[logs, '--out', out, '--chain', 'api-1'], /only apply to a postgres:\/\/ source/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['report', ...args])));
    for (const [i, [args, message]] of cases.entries()) {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      expect(results[i]?.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});

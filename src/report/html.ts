import type { AuditTrailReport } from '../audit/verify-trail.js';
import type { Lang } from '../records/labels.js';
import { escapeHtml as e } from '../records/render.js';
import type { DailySeries, ReportData, Tally } from './aggregate.js';
import { barChart, dailyChart, type EchartsModule } from './charts.js';
import { REPORT_LABELS, type ReportLabels } from './labels.js';

/** One verified chain, as shown at the top of the report. */
export interface ChainVerification {
  file: string;
  report: AuditTrailReport;
  /** Were checkpoint signatures checked (keys given)? */
  keysGiven: boolean;
}

export interface ReportPage {
  lang: Lang;
  source: string;
  from?: string;
  to?: string;
  generatedAt: string;
  verification: ChainVerification[];
  data: ReportData;
}

const CSS = `body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC",sans-serif;margin:24px auto;max-width:880px;color:#1f2328;padding:0 16px}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.meta{color:#57606a}table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37;font-weight:700}.bad{color:#cf222e;font-weight:700}
figure{margin:0 0 1.2em}figure svg{max-width:100%;height:auto}.none{color:#57606a;font-style:italic}
details summary{cursor:pointer;color:#57606a}`;

function tallyTable(l: ReportLabels, tally: Tally): string {
  const rows = Object.entries(tally)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([key, n]) => `<tr><td>${e(key)}</td><td class="n">${n}</td></tr>`)
    .join('');
  const total = Object.values(tally).reduce((a, b) => a + b, 0);
  return `<table><tr><th>${e(l.key)}</th><th>${e(l.count)}</th></tr>${rows}<tr><th>${e(l.total)}</th><td class="n" data-total>${total}</td></tr></table>`;
}

function dailyTotals(daily: DailySeries): Tally {
  const tally: Tally = {};
  for (const [key, values] of Object.entries(daily.series)) tally[key] = values.reduce((a, b) => a + b, 0);
  return tally;
}

function figure(id: string, title: string, svg: string | undefined, table: string, l: ReportLabels): string {
  const body = svg === undefined ? `<p class="none">${e(l.none)}</p>` : svg;
  return `<figure id="${id}" data-chart="${id}"><h2>${e(title)}</h2>${body}<details open><summary>${e(l.count)}</summary>${table}</details></figure>`;
}

function verificationSection(page: ReportPage, l: ReportLabels): string {
  const valid = page.verification.every((v) => v.report.valid);
  const rows = page.verification
    .map(({ file, report, keysGiven }) => {
      const cp = keysGiven
        ? `${report.checkpoints.valid} / ${report.checkpoints.total}`
        : `${e(l.notChecked)} (${report.checkpoints.total})`;
      return `<tr><td>${e(report.chain ?? '?')}</td><td>${e(file)}</td><td class="${report.valid ? 'ok' : 'bad'}">${report.valid ? e(l.valid) : e(l.invalid)}</td><td class="n">${report.records.total}</td><td>${report.hashAlg === 'sm3' ? 'SM3' : 'SHA-256'}</td><td>${report.firstSeq ?? '—'}–${report.lastSeq ?? '—'}</td><td>${cp}</td><td class="n">${keysGiven ? (report.checkpoints.lastCoveredSeq ?? '—') : '—'}</td><td class="n">${report.unsignedTail}</td></tr>`;
    })
    .join('');
  const problems = page.verification.flatMap((v) =>
    v.report.problems.map((p) => `${v.report.chain ?? v.file}: ${p.message}`),
  );
  const notices = page.verification.flatMap((v) =>
    v.report.notices.map((n) => `${v.report.chain ?? v.file}: ${n}`),
  );
  const list = (title: string, items: string[]) =>
    items.length === 0
      ? ''
      : `<h3>${e(title)}</h3><ul>${items.map((item) => `<li>${e(item)}</li>`).join('')}</ul>`;
  return `<section id="verification"><h2>${e(l.verification)}: <span id="verdict" class="${valid ? 'ok' : 'bad'}">${valid ? e(l.valid) : e(l.invalid)}</span></h2>
<table><tr><th>${e(l.chain)}</th><th>${e(l.file)}</th><th>${e(l.verification)}</th><th>${e(l.records)}</th><th>${e(l.hash)}</th><th>${e(l.seq)}</th><th>${e(l.checkpoints)}</th><th>${e(l.coverage)}</th><th>${e(l.unsigned)}</th></tr>${rows}</table>
${list(l.problems, problems)}${list(l.notices, notices)}<p class="meta">${e(l.verifyNote)}</p></section>`;
}

/**
 * Builds the report: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched),
 * the verification result first, then the charts, each with its counts as a table.
 *
 * @example
 * ```ts
 * writeFileSync('report.html', reportHtml(await loadEcharts(), page));
 * ```
 */
export function reportHtml(echarts: EchartsModule, page: ReportPage): string {
  const l = REPORT_LABELS[page.lang];
  const { data } = page;
  const bars = (tally: Tally) => (Object.keys(tally).length === 0 ? undefined : barChart(echarts, tally));
  const days = (daily: DailySeries) => (daily.days.length === 0 ? undefined : dailyChart(echarts, daily));
  const subjectRows = data.transferSubjects
    .map(
      (t) =>
        `<tr><td>${e(t.year)}</td><td>${e(t.country)}</td><td>${e(t.recipient)}</td><td class="n">${t.subjects}</td></tr>`,
    )
    .join('');
  const subjects = `<h3>${e(l.transferSubjects)}</h3><table id="transfer-subjects"><tr><th>${e(l.year)}</th><th>${e(l.country)}</th><th>${e(l.recipient)}</th><th>${e(l.subjects)}</th></tr>${subjectRows}</table>`;
  const range = page.from || page.to ? `${page.from ?? '…'} – ${page.to ?? '…'}` : l.all;
  const figures = [
    figure(
      'decisions',
      l.decisionsByPurpose,
      days(data.decisionsByPurpose),
      tallyTable(l, dailyTotals(data.decisionsByPurpose)),
      l,
    ),
    figure('denials', l.denialsByReason, bars(data.denialsByReason), tallyTable(l, data.denialsByReason), l),
    figure('sensitive', l.sensitive, days(data.sensitive), tallyTable(l, dailyTotals(data.sensitive)), l),
    figure('minors', l.minors, bars(data.minors), tallyTable(l, data.minors), l),
    figure('provisions', l.provisions, bars(data.provisions), tallyTable(l, data.provisions), l),
    figure('transfers', l.transfers, bars(data.transfers), tallyTable(l, data.transfers) + subjects, l),
    figure('withdrawals', l.withdrawals, bars(data.withdrawals), tallyTable(l, data.withdrawals), l),
    figure('opt-outs', l.optOuts, bars(data.optOuts), tallyTable(l, data.optOuts), l),
    figure('chains', l.chains, bars(data.chains), tallyTable(l, data.chains), l),
  ];
  return `<!doctype html>
<html lang="${page.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${e(l.title)}</title><style>${CSS}</style></head><body>
<h1>${e(l.title)}</h1>
<p class="meta">${e(l.source)}: ${e(page.source)} · ${e(l.range)}: ${e(range)} · ${e(l.generated)}: ${e(page.generatedAt)} · ${e(l.decisions)}: <span id="decision-total">${data.decisions}</span> / ${e(l.records)}: ${data.records}</p>
${verificationSection(page, l)}
${figures.join('\n')}
</body></html>
`;
}

import { type Lang, NONE, RECORD_LABELS } from './labels.js';
import type { ProcessingRecords, PurposeEntry } from './records.js';

/** One purpose as (label, value) rows, in the order a reader expects them. */
export function purposeRows(entry: PurposeEntry, lang: Lang): [string, string][] {
  const l = RECORD_LABELS[lang];
  const list = (items: string[]) => (items.length > 0 ? items.join('; ') : NONE);
  const flag = (value: boolean) => (value ? l.yes : l.no);
  return [
    [l.description, entry.description ?? NONE],
    [l.basis, entry.basis],
    [l.categories, list(entry.categories.map((c) => (c.sensitive ? `${c.key} (${l.sensitive})` : c.key)))],
    [l.operations, list(entry.operations)],
    [l.recipients, list(entry.recipients)],
    [l.processors, list(entry.processors.map((p) => `${p.name} (${p.contractRef})`))],
    [
      l.transfers,
      list(
        entry.transfers.map(
          (t) =>
            `${t.country} ${t.recipient}: ${t.mechanism}${t.exemption ? ` (${t.exemption})` : ''}, ${t.reference ?? NONE}, ${l.validity} ${t.validFrom ?? NONE} – ${t.validUntil ?? NONE}`,
        ),
      ),
    ],
    [l.piaRef, entry.piaRef ?? NONE],
    [l.retention, entry.retention ?? NONE],
    [l.necessary, flag(entry.necessaryForService)],
    [l.personalization, flag(entry.personalization)],
    [l.children, flag(entry.childrenUnder14)],
  ];
}

const mdCell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * Records of processing as Markdown: one table per purpose.
 *
 * @example
 * ```ts
 * process.stdout.write(recordsMarkdown(recordsOfProcessing(policy), 'en'));
 * ```
 */
export function recordsMarkdown(records: ProcessingRecords, lang: Lang): string {
  const l = RECORD_LABELS[lang];
  const out = [
    `# ${l.title}`,
    '',
    `${l.notice}: ${mdCell(records.notice.id)} v${records.notice.version}  `,
    `${l.digest}: ${records.policyDigest ?? NONE}`,
  ];
  for (const entry of records.purposes) {
    out.push('', `## ${l.purpose}: ${mdCell(entry.purpose)}`, '', `| | |`, `|---|---|`);
    for (const [label, value] of purposeRows(entry, lang)) out.push(`| ${label} | ${mdCell(value)} |`);
  }
  return `${out.join('\n')}\n`;
}

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/**
 * Records of processing as one self-contained HTML page (inline CSS, nothing fetched).
 *
 * @example
 * ```ts
 * writeFileSync('records.html', recordsHtml(recordsOfProcessing(policy), 'zh-CN'));
 * ```
 */
export function recordsHtml(records: ProcessingRecords, lang: Lang): string {
  const l = RECORD_LABELS[lang];
  const sections = records.purposes.map((entry) => {
    const rows = purposeRows(entry, lang)
      .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
      .join('');
    return `<section><h2>${escapeHtml(l.purpose)}: <code>${escapeHtml(entry.purpose)}</code></h2><table>${rows}</table></section>`;
  });
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(l.title)}</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4;width:18em}</style>
</head><body><h1>${escapeHtml(l.title)}</h1>
<p>${escapeHtml(l.notice)}: ${escapeHtml(records.notice.id)} v${records.notice.version}<br>${escapeHtml(l.digest)}: ${escapeHtml(records.policyDigest ?? NONE)}</p>
${sections.join('\n')}
</body></html>
`;
}

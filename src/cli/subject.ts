import { parseArgs } from 'node:util';
import { DEFAULT_MAX_LINE_BYTES } from '../audit/reader.js';
import { type SubjectHistory, subjectHistory } from '../audit/subject-history.js';
import type { CliCommand } from './command.js';
import { readText } from './files.js';
import { jsonSafe, printable } from './output.js';
import { openSource, UsageError } from './sources.js';

/**
 * `pipl-guard audit subject <id> <file|dir|postgres-url>`: what the log shows was processed about
 * one person (Art. 45), in plain language. The id is HMAC'd with the audit key ($PIPL_AUDIT_KEY or
 * --audit-key-file) before the log is searched; it is never printed.
 */
export async function subjectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      json: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      chain: { type: 'string' },
      table: { type: 'string' },
      'audit-key-file': { type: 'string' },
    },
  });
  const [subject, target] = positionals;
  if (!subject || !target)
    throw new UsageError('audit subject needs <subject id> and a log (file, directory or postgres:// URL)');
  const format = values.json ? 'json' : (values.format ?? 'table');
  if (format !== 'json' && format !== 'table') throw new UsageError('--format is table or json');
  const key = values['audit-key-file']
    ? readText(values['audit-key-file']).trim()
    : process.env.PIPL_AUDIT_KEY;
  if (!key)
    throw new UsageError('audit subject needs the audit key: set PIPL_AUDIT_KEY or pass --audit-key-file');
  for (const [flag, value] of [
    ['--from', values.from],
    ['--to', values.to],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new UsageError(`${flag} is an RFC 3339 time`);
  }
  const source = await openSource(target, {
    ...(values.chain ? { chain: values.chain } : {}),
    ...(values.table ? { table: values.table } : {}),
  });
  try {
    const history = await subjectHistory(source.lines(DEFAULT_MAX_LINE_BYTES), subject, {
      key,
      ...(values.from ? { from: values.from } : {}),
      ...(values.to ? { to: values.to } : {}),
    });
    process.stdout.write(
      format === 'json'
        ? `${jsonSafe(JSON.stringify(history, null, 2))}\n`
        : `${readable(history).split('\n').map(printable).join('\n')}`,
    );
    return 0;
  } finally {
    await source.close();
  }
}

function readable(history: SubjectHistory): string {
  const lines = [`Personal information processed about subject ${history.subject}`, ''];
  if (history.purposes.length === 0) lines.push('No processing recorded.');
  else {
    lines.push('By purpose:');
    for (const p of history.purposes) {
      const to = p.recipients.length > 0 ? `; given to ${p.recipients.join(', ')}` : '';
      lines.push(
        `  ${p.purpose} (basis: ${p.basis}): ${p.operations.join(', ')} of ${p.categories.join(', ')}${to}; ${p.count} time${p.count === 1 ? '' : 's'}, ${p.first} to ${p.last}`,
      );
    }
    lines.push('', 'Each time:');
    for (const entry of history.processing) lines.push(`  ${entry.time}  ${entry.text}`);
  }
  if (history.changes.length > 0) {
    lines.push('', 'Your withdrawals and choices:');
    for (const change of history.changes) lines.push(`  ${change.time}  ${change.text}`);
  }
  if (history.refused > 0)
    lines.push('', `Requests refused by the guard (nothing processed): ${history.refused}`);
  return `${lines.join('\n')}\n`;
}

export const subjectCommandSpec: CliCommand = {
  name: 'audit subject',
  summary: 'what the log shows was processed about one person (Art. 45), in plain language',
  usage: `Usage: pipl-guard audit subject <subject id> <file|dir|postgres-url> [--format table|json] [--json]
                            [--from <time>] [--to <time>] [--chain name] [--table name] [--audit-key-file f]

The id is HMAC'd with the audit key (PIPL_AUDIT_KEY, or --audit-key-file) before the log is searched;
it is never printed. Exit 0 with the history, 2 on a usage error.
`,
  run: subjectCommand,
};

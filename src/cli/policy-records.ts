import { parseArgs } from 'node:util';
import { LANGS, type Lang } from '../records/labels.js';
import { recordsOfProcessing } from '../records/records.js';
import { recordsHtml, recordsMarkdown } from '../records/render.js';
import type { CliCommand } from './command.js';
import { loadPolicy } from './policy-load.js';
import { UsageError } from './sources.js';

const FORMATS = ['md', 'json', 'html'] as const;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      policy: { type: 'string' },
      format: { type: 'string', default: 'md' },
      lang: { type: 'string', default: 'en' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.policy) throw new UsageError('policy records needs --policy <module>');
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`--format is one of ${FORMATS.join(', ')}`);
  const lang = values.lang as Lang;
  if (!LANGS.includes(lang)) throw new UsageError(`--lang is one of ${LANGS.join(', ')}`);
  const records = recordsOfProcessing(await loadPolicy(values.policy));
  process.stdout.write(
    format === 'json'
      ? `${JSON.stringify(records, null, 2)}\n`
      : format === 'html'
        ? recordsHtml(records, lang)
        : recordsMarkdown(records, lang),
  );
  return 0;
}

export const policyRecordsCommand: CliCommand = {
  name: 'policy records',
  summary: 'records of processing from the policy (Art. 55-56 input)',
  usage: `Usage: pipl-guard policy records --policy <module> [--format md|json|html] [--lang zh-CN|en]

Lists each purpose with its basis, categories (sensitive flagged), operations, recipients,
entrusted processors, cross-border transfers with mechanism and validity, impact-assessment
reference, retention and necessity; "—" where the policy declares nothing.

--policy  a .js or .mjs module exporting the policy (from definePolicy, or its plain input) as
          default or as \`policy\`; a .ts module works when the CLI runs under tsx
          (npx tsx node_modules/pipl-guard/dist/cli/main.js …)
--format  md (default), json (sorted: diff two runs to see a policy change), html (self-contained)
--lang    en (default) or zh-CN labels
`,
  run,
};

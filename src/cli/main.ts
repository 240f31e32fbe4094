#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { VERSION } from '../version.js';
import { query, stats, verify } from './audit.js';
import { generateKeys } from './keys.js';
import { openSource, UsageError } from './sources.js';
import { inspectToken, issueToken } from './token.js';

const USAGE = `pipl-guard ${VERSION}: tools for PIPL audit logs and consent tokens

Usage:
  pipl-guard audit verify <file|dir|postgres-url> [--keys jwks.json] [--trusted-checkpoint cp.jws] [--chain name] [--json]
  pipl-guard audit query  <file|dir|postgres-url> [filters] [--format table|jsonl|csv|ocsf]
  pipl-guard audit export <file|dir|postgres-url> [filters] [--format jsonl|csv|ocsf]   (query, JSON lines by default)
  pipl-guard audit stats  <file|dir|postgres-url> [--from t] [--to t] [--json]
  pipl-guard keys generate [--alg EdDSA|ES256] [--kid id]
  pipl-guard token issue --key private.jwk --consent consent.json [--alg ES256] [--expires-in seconds]
  pipl-guard token inspect <token>      (decodes only: nothing is verified)

Filters (query):
  --from <RFC 3339>  --to <RFC 3339>  --purpose <key>  --category <key>  --decision allow|deny|degrade
  --reason <code>  --actor <id>  --route <pattern>  --type decision|outcome|...
  --subject <clear id>   HMAC'd with the audit key from $PIPL_AUDIT_KEY (or --audit-key-file)
  --subject-hmac <hmac-sha256:...>   an already pseudonymised id

Exit codes: 0 valid / done, 1 invalid log, 2 usage or key error.
`;

async function main(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(USAGE);
    return group ? 0 : 2;
  }
  if (group === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (group === 'keys' && command === 'generate') return generateKeys(rest);
  if (group === 'token' && command === 'issue') return issueToken(rest);
  if (group === 'token' && command === 'inspect') return inspectToken(rest);
  if (group === 'audit' && command === 'subject') return (await import('./subject.js')).subjectCommand(rest);
  if (group !== 'audit' || !command) throw new UsageError(`unknown command "${argv.join(' ')}"`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      keys: { type: 'string' },
      'trusted-checkpoint': { type: 'string' },
      chain: { type: 'string' },
      table: { type: 'string' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      purpose: { type: 'string' },
      category: { type: 'string' },
      decision: { type: 'string' },
      reason: { type: 'string' },
      actor: { type: 'string' },
      route: { type: 'string' },
      type: { type: 'string', multiple: true },
      subject: { type: 'string' },
      'subject-hmac': { type: 'string' },
      'audit-key-file': { type: 'string' },
      progress: { type: 'boolean' },
    },
  });
  const target = positionals[0];
  if (!target) throw new UsageError(`audit ${command} needs a log: a file, a directory or a postgres:// URL`);
  const source = await openSource(target, {
    ...(values.chain ? { chain: values.chain } : {}),
    ...(values.table ? { table: values.table } : {}),
  });
  try {
    if (command === 'verify') return await verify(source, values);
    if (command === 'query') return await query(source, values);
    if (command === 'export') return await query(source, { ...values, format: values.format ?? 'jsonl' });
    if (command === 'stats') return await stats(source, values);
    throw new UsageError(`unknown audit command "${command}"`);
  } finally {
    await source.close();
  }
}

// `pipl-guard audit query … | head`: the reader left, which is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage =
      error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(
      `pipl-guard: ${(error as Error).message}\n${usage ? 'Run `pipl-guard --help` for usage.\n' : ''}`,
    );
    process.exitCode = 2;
  },
);

import { statSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { verifyCheckpoint } from '../audit/checkpoint.js';
import { activeLogs, readAuditLines, readCheckpointLines, readFileLines } from '../audit/reader.js';
import { segmentsOf } from '../audit/segments.js';
import { type AuditTrailReport, verifyAuditTrail } from '../audit/verify-trail.js';
import { displayTime, FILTER_OPTIONS, maxLineBytes, SOURCE_OPTIONS } from './audit-options.js';
import { openAuditSource, parseAuditArgs } from './audit-read.js';
import type { CliCommand } from './command.js';
import { readJson, readText, type Values } from './files.js';
import { jsonSafe, printable } from './output.js';
import { UsageError } from './sources.js';

interface Target {
  /** The log file, or undefined for a database chain. */
  file: string | undefined;
  chain: string | undefined;
  trusted?: string;
}

async function run(args: string[]): Promise<number> {
  // Verification covers whole chains: a filter would be silently ignored, so it is refused.
  const filter = args.find(
    (arg) => arg.startsWith('--') && (arg.slice(2).split('=')[0] as string) in FILTER_OPTIONS,
  );
  if (filter !== undefined)
    throw new UsageError(
      `audit verify checks whole chains and takes no filter (${filter}); filter with audit query or stats`,
    );
  const { values, target } = parseAuditArgs('verify', args, {
    ...SOURCE_OPTIONS,
    keys: { type: 'string' },
    'trusted-checkpoint': { type: 'string', multiple: true },
    json: { type: 'boolean' },
    tz: { type: 'string' },
  });
  const time = displayTime(values);
  const limit = maxLineBytes(values);
  const keys = readKeys(values);
  const trustedFiles = (values['trusted-checkpoint'] as string[] | undefined) ?? [];
  if (trustedFiles.length > 0 && !keys)
    throw new UsageError(
      '--trusted-checkpoint needs --keys: a checkpoint is only trusted once its signature is checked',
    );
  const trusted = await readTrusted(trustedFiles, keys);

  const source = await openAuditSource(target, values);
  try {
    let targets: Target[];
    if (source.path === undefined) targets = [{ file: undefined, chain: source.chain }];
    else {
      const files = statSync(source.path).isDirectory() ? activeLogs(source.path) : [source.path];
      if (files.length === 0) throw new UsageError(`no *.jsonl audit logs in ${source.path}`);
      targets = await Promise.all(files.map(async (file) => ({ file, chain: await firstChain(file) })));
    }
    const known = targets.map((t) => t.chain ?? '(unreadable)');
    if (values.chain !== undefined && source.path !== undefined) {
      targets = targets.filter((t) => t.chain === values.chain);
      if (targets.length === 0)
        throw new UsageError(`--chain ${values.chain}: no such chain here; chains: ${known.join(', ')}`);
    }
    // A trusted checkpoint pins its own chain only; one for a chain not here is a mistake, not tampering.
    for (const [chain, jws] of trusted) {
      const match = targets.find((t) => t.chain === chain);
      if (!match)
        throw new UsageError(
          `the trusted checkpoint is for chain "${chain}", which is not here; chains: ${known.join(', ')}`,
        );
      match.trusted = jws;
    }

    const progress = values.progress === true || process.stderr.isTTY;
    const reports: { file: string | undefined; report: AuditTrailReport }[] = [];
    for (const t of targets) {
      const report = await verifyAuditTrail(
        t.file === undefined ? source.lines(limit) : readAuditLines(t.file, { maxLineBytes: limit }),
        {
          checkpoints:
            t.file !== undefined
              ? await readCheckpointLines(t.file)
              : source.checkpoints
                ? await source.checkpoints()
                : [],
          maxLineBytes: limit,
          ...(keys ? { keys } : {}),
          ...(t.trusted ? { trustedCheckpoint: t.trusted } : {}),
          ...(progress
            ? { onProgress: (n: number) => process.stderr.write(`\r… ${n.toLocaleString('en')} records`) }
            : {}),
        },
      );
      if (progress && report.records.total >= 100_000) process.stderr.write('\n');
      reports.push({ file: t.file, report });
    }
    if (values.json) {
      const body =
        reports.length === 1 ? reports[0]?.report : reports.map(({ file, report }) => ({ file, ...report }));
      process.stdout.write(`${jsonSafe(JSON.stringify(body, null, 2))}\n`);
    } else {
      const text = reports
        .map(({ file, report }) => describe(report, file, keys !== undefined, time))
        .join('\n\n');
      process.stdout.write(`${text.split('\n').map(printable).join('\n')}\n`);
    }
    const keyError = reports.map(({ report }) => wrongKeys(report, keys)).find(Boolean);
    if (keyError) throw new UsageError(keyError);
    return reports.every(({ report }) => report.valid) ? 0 : 1;
  } finally {
    await source.close();
  }
}

function readKeys(values: Values): JSONWebKeySet | undefined {
  if (!values.keys) return undefined;
  const keyFile = readJson(values.keys as string, '--keys');
  // A JWKS file, or the `keys generate` output ({ privateJwk, jwks }) as it is.
  const keys = (
    keyFile && typeof keyFile === 'object' && 'jwks' in keyFile
      ? (keyFile as { jwks: unknown }).jwks
      : keyFile
  ) as { keys?: unknown };
  if (
    typeof keys !== 'object' ||
    keys === null ||
    !Array.isArray(keys.keys) ||
    keys.keys.length === 0 ||
    !keys.keys.every((key) => typeof key === 'object' && key !== null && typeof key.kty === 'string')
  ) {
    throw new UsageError('--keys must be a JWKS file with at least one public key: {"keys": [{"kty": …}]}');
  }
  return keys as JSONWebKeySet;
}

/** Checks each trusted checkpoint's signature and returns them by chain. Every failure is a key or usage error. */
async function readTrusted(files: string[], keys: JSONWebKeySet | undefined): Promise<Map<string, string>> {
  const byChain = new Map<string, string>();
  if (!keys) return byChain;
  for (const file of files) {
    const jws = readText(file).trim();
    const check = await verifyCheckpoint(jws, keys);
    if (!check.ok) {
      const why =
        check.reason === 'unknown_key'
          ? `it is signed with kid ${check.kid ?? '?'}, which --keys does not hold (kids: ${kidsOf(keys)})`
          : check.reason === 'signature'
            ? 'its signature does not verify with --keys'
            : `it is not a checkpoint (${check.message})`;
      throw new UsageError(`--trusted-checkpoint ${file}: ${why}`);
    }
    if (byChain.has(check.payload.chain))
      throw new UsageError(
        `two trusted checkpoints for chain "${check.payload.chain}": give the newest only`,
      );
    byChain.set(check.payload.chain, jws);
  }
  return byChain;
}

function kidsOf(keys: JSONWebKeySet): string {
  return keys.keys.map((key) => key.kid ?? '(no kid)').join(', ');
}

/**
 * A checkpoint set no given key could check: the wrong JWKS (a key error, exit 2), not a bad log.
 * Signatures that fail under a key with the right kid stay a bad log (exit 1).
 */
function wrongKeys(report: AuditTrailReport, keys: JSONWebKeySet | undefined): string | undefined {
  if (!keys || report.checkpoints.total === 0 || report.checkpoints.valid > 0) return undefined;
  const problems = report.problems.filter((p) => p.kind.startsWith('checkpoint_'));
  if (problems.length === 0 || !problems.every((p) => p.kind === 'checkpoint_unknown_key')) return undefined;
  const kids = new Set(problems.map((p) => /\(kid ([^)]*)\)/.exec(p.message)?.[1] ?? '?'));
  return `--keys holds none of the keys the checkpoints of chain "${report.chain}" are signed with (kid ${[...kids].join(', ')}; --keys has ${kidsOf(keys)}): wrong JWKS?`;
}

/** The chain named by a log's first record, read without loading the file. */
async function firstChain(file: string): Promise<string | undefined> {
  const first = segmentsOf(file)[0]?.path ?? file;
  for await (const entry of readFileLines(first, 64 * 1024)) {
    try {
      const chain = (JSON.parse(entry.text) as { chain?: unknown }).chain;
      return typeof chain === 'string' ? chain : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The report as an auditor reads it: each invalid item, notices, then the totals. */
function describe(
  report: AuditTrailReport,
  where: string | undefined,
  keyed: boolean,
  time: (iso: string | undefined) => string,
): string {
  const out: string[] = [];
  out.push(`Verifying chain ${report.chain ?? '(empty)'}${where ? ` in ${where}` : ''}`);
  // Only SM3 is named: SHA-256 chains print as they always have.
  if (report.hashAlg === 'sm3') out.push('Hash: SM3 (GB/T 32905), as its writer_start records');
  if (report.checkpoints.kids.length > 0) {
    out.push(`Keys used: ${report.checkpoints.kids.map((kid) => `kid ${kid}`).join(', ')}`);
  }
  for (const problem of report.problems) out.push(`  ${problem.message}`);
  for (const notice of report.notices) out.push(`  Notice: ${notice}`);
  out.push(`  ${report.truncation.detectable ? 'Tail' : 'Notice'}: ${report.truncation.note}`);
  if (report.records.total === 0)
    out.push('  Notice: the log holds no records; an empty log proves nothing by itself');
  if (report.checkpoints.total === 0 && report.records.total > 0) {
    out.push(
      '  Notice: no signed checkpoints: edits and gaps show, a consistent rewrite or a cut tail would not',
    );
  } else if (report.unsignedTail > 0 && keyed) {
    out.push(`  Tail: ${report.unsignedTail} records after the last checkpoint (unsigned)`);
  }
  out.push(
    `Results found for seq ${report.firstSeq ?? '-'}..${report.lastSeq ?? '-'} (${time(report.firstTime)} to ${time(report.lastTime)}):`,
  );
  const { checkpoints, records } = report;
  out.push(
    keyed
      ? `  ${checkpoints.valid}/${checkpoints.total} checkpoints valid${checkpoints.invalid ? `, ${checkpoints.invalid} INVALID` : ''}`
      : `  ${checkpoints.total} checkpoints: not checked (no keys; pass --keys jwks.json)`,
  );
  const good = records.total - records.invalid;
  out.push(
    `  ${good}/${records.total} records valid${records.invalid ? `, ${records.invalid} INVALID` : ''}`,
  );
  out.push(report.valid ? 'VALID' : `INVALID: ${report.problems.length} problem(s)`);
  return out.join('\n');
}

export const verifyCommand: CliCommand = {
  name: 'audit verify',
  summary: 'checks every record, link and signed checkpoint of each chain',
  usage: `Usage: pipl-guard audit verify <file|dir|postgres-url> [--keys jwks.json] [--trusted-checkpoint cp.jws …]
                           [--chain name] [--json] [--tz <IANA zone>] [--max-line-bytes n]

Each instance's log (chain) in a directory is verified on its own. Without --keys, checkpoints are
"not checked (no keys)". A --trusted-checkpoint (kept outside the writer's reach; needs --keys) pins
the chain it names; give one per chain. Filters are refused: verification covers whole chains.
Exit 0 valid, 1 invalid log, 2 usage or key error (unreadable or wrong --keys, a trusted checkpoint
that does not verify or names a chain not here).
`,
  run,
};

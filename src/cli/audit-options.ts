import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ParseArgsConfig } from 'node:util';
import { createPseudonymizer } from '../audit/pseudonymize.js';
import type { AuditQuery } from '../audit/query.js';
import { DEFAULT_MAX_LINE_BYTES } from '../audit/reader.js';
import type { AuditRecord } from '../audit/record.js';
import { subjectKeyId } from '../audit/subject-key-id.js';
import { REASONS } from '../errors/codes.js';
import { BUILTIN_CATEGORIES } from '../taxonomy/taxonomy.js';
import { readText, type Values } from './files.js';
import { timeFormatter } from './output.js';
import { UsageError } from './sources.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Where the log is read from: every audit command takes these. */
export const SOURCE_OPTIONS: Options = {
  chain: { type: 'string' },
  table: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  progress: { type: 'boolean' },
};

/** Which records: query, export and stats honour every one of these. */
export const FILTER_OPTIONS: Options = {
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
  policy: { type: 'string' },
};

export const RECORD_TYPES = [
  'decision',
  'outcome',
  'writer_start',
  'writer_stop',
  'dropped',
  'policy',
  'consent_withdrawal',
  'preference_change',
  'deletion_started',
] as const;

export const FILTERS_HELP = `Filters:
  --from <time>  --to <time>     RFC 3339 with Z or an offset, or a date (midnight UTC); --to is exclusive
  --purpose <key>                a purpose in the log (or in --policy <module>)
  --category <key>  --reason <code>  --decision allow|deny|degrade
  --actor <id>  --route <pattern>  --chain <name>  --type decision|outcome|writer_start|writer_stop|dropped
  --subject <clear id>           HMAC'd with the audit key from $PIPL_AUDIT_KEY (or --audit-key-file)
  --subject-hmac <hmac-sha256:…> an already pseudonymised id
  --policy <module.js>           the policy (default export or \`policy\`): its purposes are known values
Source options:
  --chain <name>  (a directory or database holding several instances' chains)
  --table <name>  (postgres)   --max-line-bytes <n> (default ${DEFAULT_MAX_LINE_BYTES})   --progress`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/** The line-size limit from `--max-line-bytes`. */
export function maxLineBytes(values: Values): number {
  const raw = values['max-line-bytes'];
  if (raw === undefined) return DEFAULT_MAX_LINE_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024) throw new UsageError('--max-line-bytes is a whole number ≥ 1024');
  return n;
}

/** The display time zone from `--tz` (an IANA name such as Asia/Shanghai). */
export function displayTime(values: Values): (iso: string | undefined) => string {
  const tz = values.tz as string | undefined;
  try {
    return timeFormatter(tz);
  } catch {
    throw new UsageError(`--tz ${tz} is not an IANA time zone (e.g. Asia/Shanghai, UTC)`);
  }
}

/** What a query looks for, and what only the log itself can confirm once read. */
export interface Filters {
  query: AuditQuery;
  /** Fingerprint of the key a clear `--subject` was HMAC'd with. */
  keyId: string | undefined;
  /** Purposes the policy declares, when `--policy` was given. */
  policyPurposes: Set<string> | undefined;
  /** Categories the policy declares (built-in ones included), when `--policy` was given. */
  policyCategories: Set<string> | undefined;
}

export async function buildFilters(values: Values): Promise<Filters> {
  const q: AuditQuery = {};
  for (const key of ['from', 'to'] as const) {
    const value = values[key] as string | undefined;
    if (value === undefined) continue;
    if (!RFC3339.test(value) || Number.isNaN(Date.parse(value)))
      throw new UsageError(
        `--${key} must be an RFC 3339 time such as 2026-11-01T00:00:00Z (or +08:00), or a date`,
      );
    q[key] = value;
  }
  for (const key of ['purpose', 'category', 'reason', 'actor', 'route', 'chain'] as const) {
    const value = values[key] as string | undefined;
    if (value !== undefined) q[key] = value;
  }
  if (q.reason !== undefined && !(q.reason in REASONS)) {
    throw new UsageError(
      `--reason ${q.reason} is not a reason code; known: ${Object.keys(REASONS).join(', ')}`,
    );
  }
  if (values.decision !== undefined) {
    if (!['allow', 'deny', 'degrade'].includes(values.decision as string))
      throw new UsageError('--decision is allow, deny or degrade');
    q.decision = values.decision as AuditQuery['decision'] & string;
  }
  if (values.type) {
    const types = values.type as string[];
    for (const type of types) {
      if (!(RECORD_TYPES as readonly string[]).includes(type))
        throw new UsageError(`--type ${type} is not a record type; known: ${RECORD_TYPES.join(', ')}`);
    }
    q.types = types as AuditRecord['type'][];
  }
  if (values['subject-hmac'] && values.subject)
    throw new UsageError('give --subject or --subject-hmac, not both');
  if (values['subject-hmac']) q.subject = values['subject-hmac'] as string;
  let keyId: string | undefined;
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
    keyId = subjectKeyId(key);
  } else if (values['audit-key-file']) {
    throw new UsageError('--audit-key-file is only used with --subject');
  }
  let policyPurposes: Set<string> | undefined;
  let policyCategories: Set<string> | undefined;
  if (values.policy) {
    const policy = await loadPolicy(values.policy as string);
    policyPurposes = new Set(policy.purposes.keys());
    policyCategories = new Set(policy.categories.keys());
    if (q.purpose !== undefined && !policyPurposes.has(q.purpose)) {
      throw new UsageError(
        `--purpose ${q.purpose} is not in the policy; its purposes: ${[...policyPurposes].join(', ')}`,
      );
    }
  }
  return { query: q, keyId, policyPurposes, policyCategories };
}

interface LoadedPolicy {
  purposes: ReadonlyMap<string, unknown>;
  categories: ReadonlyMap<string, unknown>;
}

async function loadPolicy(path: string): Promise<LoadedPolicy> {
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(path)).href);
  } catch (error) {
    throw new UsageError(`--policy ${path} cannot be loaded: ${(error as Error).message}`);
  }
  for (const candidate of [module.default, module.policy]) {
    const policy = candidate as Partial<LoadedPolicy> | undefined;
    if (policy?.purposes instanceof Map && policy.categories instanceof Map) return policy as LoadedPolicy;
  }
  throw new UsageError(
    `--policy ${path} exports no policy (export default definePolicy(...) or export const policy)`,
  );
}

/**
 * What the log holds, gathered while it is read: the values a filter could have matched, and the
 * fingerprints of the keys its subjects were pseudonymised with.
 */
export function observer() {
  const purposes = new Set<string>();
  const categories = new Set<string>();
  const keyIds = new Set<string>();
  const chains = new Set<string>();
  let unkeyed = 0;
  return {
    observe(record: AuditRecord): void {
      chains.add(record.chain);
      if (record.type === 'outcome') purposes.add(record.purpose);
      if (record.type !== 'decision') return;
      purposes.add(record.purpose);
      for (const category of record.categories) categories.add(category);
      const id = record.enforcer.subjectKeyId;
      if (typeof id === 'string') keyIds.add(id);
      else if (record.subject !== null) unkeyed++;
    },
    /**
     * A filter value no record could match, or a key the log was not written with: a usage error
     * (exit 2) naming the known values. Called when a read found nothing.
     */
    check(filters: Filters): void {
      const { query, keyId, policyPurposes, policyCategories } = filters;
      if (query.chain !== undefined && !chains.has(query.chain)) {
        throw new UsageError(`--chain ${query.chain}: no such chain here; chains: ${list(chains)}`);
      }
      if (query.purpose !== undefined && !policyPurposes && !purposes.has(query.purpose)) {
        throw new UsageError(
          `--purpose ${query.purpose}: no record in this log has it; purposes in the log: ${list(purposes)} (pass --policy to check against the policy instead)`,
        );
      }
      if (
        query.category !== undefined &&
        !categories.has(query.category) &&
        !(query.category in BUILTIN_CATEGORIES) &&
        !policyCategories?.has(query.category)
      ) {
        throw new UsageError(
          `--category ${query.category} is not a known category; built in: ${Object.keys(BUILTIN_CATEGORIES).join(', ')}; in the log: ${list(categories)}`,
        );
      }
      if (keyId !== undefined && keyIds.size > 0 && !keyIds.has(keyId)) {
        throw new UsageError(
          `the audit key (fingerprint ${keyId}) is not the key this log's subjects were pseudonymised with (${list(keyIds)}): check PIPL_AUDIT_KEY`,
        );
      }
    },
    /** A notice when a clear subject was searched in records that carry no key fingerprint. */
    keyNotice(filters: Filters): string | undefined {
      if (filters.keyId === undefined || unkeyed === 0) return undefined;
      return `${unkeyed} decision records carry no key fingerprint (written before it was recorded): a wrong PIPL_AUDIT_KEY cannot be told apart from an absent subject there`;
    },
  };
}

function list(values: Set<string>): string {
  return values.size === 0 ? '(none)' : [...values].sort().join(', ');
}

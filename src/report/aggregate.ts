import type { AuditRecord } from '../audit/record.js';
import { BUILTIN_CATEGORIES } from '../taxonomy/taxonomy.js';

/** Counts keyed by label, e.g. reason code → denials. */
export type Tally = Record<string, number>;

/** Decisions per UTC day, one series per key (purpose, allow/deny, …). */
export interface DailySeries {
  days: string[];
  series: Record<string, number[]>;
}

/** What the report's charts show: counts over the records the time filter selects. */
export interface ReportData {
  records: number;
  decisions: number;
  firstTime: string | undefined;
  lastTime: string | undefined;
  byDecision: Tally;
  byPurpose: Tally;
  decisionsByPurpose: DailySeries;
  denialsByReason: Tally;
  /** Decisions touching sensitive PI (Art. 28), by allow / deny / degrade. */
  sensitive: DailySeries;
  /** Decisions about children under 14 (Art. 31): guardian consent or an age-band reason. */
  minors: Tally;
  /** `provide` (Art. 23) and `entrust` (Art. 21) decisions by recipient. */
  provisions: Tally;
  /** `cross_border` decisions by `country · recipient` (Art. 38–39). */
  transfers: Tally;
  /** Distinct pseudonymised subjects per year, country and recipient (the 2024 Provisions' thresholds). */
  transferSubjects: { year: string; country: string; recipient: string; subjects: number }[];
  /** Withdrawals (Art. 15) by scope and result. */
  withdrawals: Tally;
  /** Opt-outs and opt-ins (Art. 24) by kind. */
  optOuts: Tally;
  /** Records per chain (instance). */
  chains: Tally;
}

/** Shown for a field a record does not carry (older logs, other writers). */
export const NONE_RECORDED = 'none recorded';

const SENSITIVE = new Set(
  Object.entries(BUILTIN_CATEGORIES)
    .filter(([, definition]) => definition.sensitive)
    .map(([key]) => key),
);

type Loose = Record<string, unknown>;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
const bump = (tally: Tally, key: string, by = 1) => {
  tally[key] = (tally[key] ?? 0) + by;
};

/** Recipient of a provision: `{ name }` (issue 8 records) or a string (issue 9 records). */
function recipientOf(record: Loose): string | undefined {
  const recipient = record.recipient;
  if (typeof recipient === 'string') return str(recipient);
  if (typeof recipient === 'object' && recipient !== null) return str((recipient as Loose).name);
  return undefined;
}

/** Destination of a transfer: `transfer` (issue 8 records) or `crossBorder` (issue 9 records). */
function transferOf(record: Loose): { country: string; recipient: string } {
  const link = (record.transfer ?? record.crossBorder) as Loose | undefined;
  const country = str(link?.country) ?? NONE_RECORDED;
  const recipient = str(link?.recipient) ?? recipientOf(record) ?? NONE_RECORDED;
  return { country, recipient };
}

function isMinor(record: Loose): boolean {
  const consent = record.consent as Loose | null | undefined;
  if (consent?.type === 'guardian' || str(consent?.guardian) !== undefined) return true;
  const reason = String(record.reason ?? '');
  return reason.includes('guardian') || reason.includes('age_band');
}

function daily(days: Map<string, Tally>): DailySeries {
  const sortedDays = [...days.keys()].sort();
  const keys = new Set<string>();
  for (const tally of days.values()) for (const key of Object.keys(tally)) keys.add(key);
  const series: Record<string, number[]> = {};
  for (const key of [...keys].sort()) series[key] = sortedDays.map((day) => days.get(day)?.[key] ?? 0);
  return { days: sortedDays, series };
}

/**
 * Counts what the report charts, in one pass over the records (already filtered by time). Fields a
 * record lacks count under "none recorded" rather than failing.
 *
 * @example
 * ```ts
 * const data = await aggregateReport(queryAudit('./var/audit', { from: '2026-11-01T00:00:00Z' }));
 * console.log(data.denialsByReason);
 * ```
 */
export async function aggregateReport(records: AsyncIterable<AuditRecord>): Promise<ReportData> {
  const data: ReportData = {
    records: 0,
    decisions: 0,
    firstTime: undefined,
    lastTime: undefined,
    byDecision: {},
    byPurpose: {},
    decisionsByPurpose: { days: [], series: {} },
    denialsByReason: {},
    sensitive: { days: [], series: {} },
    minors: {},
    provisions: {},
    transfers: {},
    transferSubjects: [],
    withdrawals: {},
    optOuts: {},
    chains: {},
  };
  const byDay = new Map<string, Tally>();
  const sensitiveByDay = new Map<string, Tally>();
  const subjects = new Map<string, Set<string>>();
  for await (const record of records) {
    const loose = record as unknown as Loose;
    data.records++;
    data.firstTime ??= record.time;
    data.lastTime = record.time;
    bump(data.chains, record.chain);
    const type = loose.type;
    if (type === 'consent_withdrawal') {
      bump(data.withdrawals, `${str(loose.scope) ?? NONE_RECORDED} · ${str(loose.result) ?? NONE_RECORDED}`);
      continue;
    }
    if (type === 'preference_change') {
      const direction =
        loose.optedOut === true ? 'opt-out' : loose.optedOut === false ? 'opt-in' : NONE_RECORDED;
      bump(
        data.optOuts,
        `${str(loose.kind) ?? NONE_RECORDED} · ${direction} · ${str(loose.result) ?? NONE_RECORDED}`,
      );
      continue;
    }
    if (record.type !== 'decision') continue;
    data.decisions++;
    bump(data.byDecision, record.decision);
    bump(data.byPurpose, record.purpose);
    const day = record.time.slice(0, 10);
    bump(
      entry(byDay, day, () => ({})),
      record.purpose,
    );
    if (record.decision === 'deny') bump(data.denialsByReason, record.reason);
    if (record.categories.some((category) => SENSITIVE.has(category))) {
      bump(
        entry(sensitiveByDay, day, () => ({})),
        record.decision,
      );
    }
    if (isMinor(loose)) bump(data.minors, record.decision);
    const operation = record.operation as string;
    if (operation === 'provide' || operation === 'entrust')
      bump(data.provisions, `${recipientOf(loose) ?? NONE_RECORDED} (${operation})`);
    if (operation === 'cross_border') {
      const { country, recipient } = transferOf(loose);
      bump(data.transfers, `${country} · ${recipient}`);
      if (record.decision !== 'deny' && record.subject) {
        const key = JSON.stringify([record.time.slice(0, 4), country, recipient]);
        entry(subjects, key, () => new Set<string>()).add(record.subject);
      }
    }
  }
  data.decisionsByPurpose = daily(byDay);
  data.sensitive = daily(sensitiveByDay);
  data.transferSubjects = [...subjects.entries()]
    .map(([key, set]) => {
      const [year, country, recipient] = JSON.parse(key) as [string, string, string];
      return { year, country, recipient, subjects: set.size };
    })
    .sort((a, b) => (a.year + a.country + a.recipient < b.year + b.country + b.recipient ? -1 : 1));
  return data;
}

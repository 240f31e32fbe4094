import type { AuditRecord } from './record.js';

/** Distinct data subjects sent to one destination (country and overseas recipient) in one calendar year. */
export interface TransferDestinationCount {
  year: number;
  country: string;
  recipient: string;
  /** Distinct (pseudonymised) subjects whose PI was let through to this destination. */
  subjects: number;
  /** Of those, subjects whose sensitive PI (or a child's PI) crossed. */
  sensitiveSubjects: number;
}

/** Per-year totals across every destination: what the thresholds of the 2024 Provisions count. */
export interface TransferYearCount {
  year: number;
  subjects: number;
  sensitiveSubjects: number;
}

export interface TransferStats {
  byDestination: TransferDestinationCount[];
  byYear: TransferYearCount[];
}

/** China Standard Time is UTC+08:00: "since 1 January of the year" is a Beijing calendar year. */
const CST_OFFSET_MS = 8 * 3_600_000;

/**
 * Counts distinct subjects per destination and calendar year from allowed cross-border decisions
 * (Art. 40; 2024 Provisions Art. 5(4), 7, 8 count people "since 1 January of the year"). Years are
 * calendar years in China Standard Time. A subject is counted once per destination and once in the
 * year's total, however often their PI crossed. Records without a subject (none resolved) are not
 * counted; `unattributed` says how many.
 *
 * @example
 * ```ts
 * const counter = createTransferCounter();
 * for await (const record of queryAudit('./audit.jsonl')) counter.add(record);
 * console.log(counter.result().byYear); // [{ year: 2026, subjects: 1234, sensitiveSubjects: 12 }]
 * ```
 */
export function createTransferCounter() {
  const destinations = new Map<
    string,
    { row: TransferDestinationCount; all: Set<string>; sensitive: Set<string> }
  >();
  const years = new Map<number, { all: Set<string>; sensitive: Set<string> }>();
  let unattributed = 0;

  return {
    /** Adds one record; anything but an allowed cross-border decision is ignored. */
    add(record: AuditRecord): void {
      if (record.type !== 'decision' || record.operation !== 'cross_border') return;
      if (record.decision !== 'allow' || record.transfer === undefined) return;
      if (record.subject === null) {
        unattributed++;
        return;
      }
      const year = new Date(Date.parse(record.time) + CST_OFFSET_MS).getUTCFullYear();
      const { country, recipient, sensitive } = record.transfer;
      const key = JSON.stringify([year, country, recipient]);
      let destination = destinations.get(key);
      if (!destination) {
        destination = {
          row: { year, country, recipient, subjects: 0, sensitiveSubjects: 0 },
          all: new Set(),
          sensitive: new Set(),
        };
        destinations.set(key, destination);
      }
      let total = years.get(year);
      if (!total) {
        total = { all: new Set(), sensitive: new Set() };
        years.set(year, total);
      }
      destination.all.add(record.subject);
      total.all.add(record.subject);
      if (sensitive) {
        destination.sensitive.add(record.subject);
        total.sensitive.add(record.subject);
      }
    },
    /** The counts so far, sorted by year, country and recipient. */
    result(): TransferStats & { unattributed: number } {
      const byDestination = [...destinations.values()]
        .map(({ row, all, sensitive }) => ({ ...row, subjects: all.size, sensitiveSubjects: sensitive.size }))
        .sort(
          (a, b) =>
            a.year - b.year || a.country.localeCompare(b.country) || a.recipient.localeCompare(b.recipient),
        );
      const byYear = [...years.entries()]
        .map(([year, { all, sensitive }]) => ({
          year,
          subjects: all.size,
          sensitiveSubjects: sensitive.size,
        }))
        .sort((a, b) => a.year - b.year);
      return { byDestination, byYear, unattributed };
    },
    /** Passes records through unchanged while counting them: one read of the log serves two reports. */
    async *tap(records: AsyncIterable<AuditRecord>): AsyncGenerator<AuditRecord> {
      for await (const record of records) {
        this.add(record);
        yield record;
      }
    },
  };
}

/**
 * Counts cross-border subjects per destination and year over a stream of records.
 *
 * @example
 * ```ts
 * const { byDestination } = await transferStats(queryAudit('./audit.jsonl'));
 * ```
 */
export async function transferStats(
  records: AsyncIterable<AuditRecord>,
): Promise<TransferStats & { unattributed: number }> {
  const counter = createTransferCounter();
  for await (const record of records) counter.add(record);
  return counter.result();
}

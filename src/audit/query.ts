import { DEPRECATED_REASON_ALIASES } from '../errors/articles.js';
import type { ReasonCode } from '../errors/codes.js';
import { type AuditLine, lineProblem, type ReadLinesOptions, readTimeline } from './reader.js';
import type { AuditRecord, DecisionEvent } from './record.js';
import { recordShapeProblem } from './record-check.js';

/** Filters for {@link queryAudit}. All given filters must match. */
export interface AuditQuery {
  /** Inclusive lower bound, RFC 3339 or Date. */
  from?: string | Date;
  /** Exclusive upper bound. */
  to?: string | Date;
  /** Pseudonymised subject (`hmac-sha256:...`), e.g. from `createPseudonymizer(key)(clearId)`. */
  subject?: string;
  purpose?: string;
  category?: string;
  decision?: 'allow' | 'deny' | 'degrade';
  reason?: string;
  actor?: string;
  route?: string;
  /** Chain (instance log) to read, when a directory holds several. */
  chain?: string;
  /** Record types to return (default: all). */
  types?: readonly AuditRecord['type'][];
}

/** A line {@link queryAudit} could not read as a record. */
export interface UnreadableLine {
  file: string;
  line: number;
  message: string;
  /** The final line of a file without its newline: a write in progress, or a torn one. */
  torn: boolean;
}

/** How {@link queryAudit} reads, and what it tells its caller besides the matches. */
export interface QueryReadOptions extends ReadLinesOptions {
  /** Called for each line that is not a well-formed record; it is skipped. */
  onUnreadable?: (line: UnreadableLine) => void;
  /** Called with every well-formed record, matching or not, before the filters apply. */
  observe?: (record: AuditRecord) => void;
}

/**
 * Streams the records of an audit log that match the filters: a file (all segments) or a
 * directory (every instance's log, merged by time). Integrity is not checked here; run
 * `verifyAuditTrail` for that. Lines that are not well-formed records (bad JSON or UTF-8, too long
 * or deeply nested, fields of the wrong type) are skipped and handed to `onUnreadable`.
 *
 * @example
 * ```ts
 * for await (const record of queryAudit('./audit.jsonl', { purpose: 'health.records', decision: 'deny' })) {
 *   console.log(record.time, record.reason);
 * }
 * ```
 */
export async function* queryAudit(
  source: string | AsyncIterable<AuditLine>,
  query: AuditQuery = {},
  options: QueryReadOptions = {},
): AsyncGenerator<AuditRecord> {
  const from = query.from === undefined ? undefined : new Date(query.from).toISOString();
  const to = query.to === undefined ? undefined : new Date(query.to).toISOString();
  const types = query.types ? new Set(query.types) : undefined;
  const decisionFilters =
    query.subject !== undefined ||
    query.purpose !== undefined ||
    query.category !== undefined ||
    query.decision !== undefined ||
    query.reason !== undefined ||
    query.actor !== undefined ||
    query.route !== undefined;
  const lines = typeof source === 'string' ? readTimeline(source, options) : source;
  const unreadable = (entry: AuditLine, message: string) =>
    options.onUnreadable?.({ file: entry.file, line: entry.line, message, torn: entry.torn });
  for await (const entry of lines) {
    if (entry.torn) {
      unreadable(entry, 'incomplete final line (a write in progress, or torn)');
      continue;
    }
    const problem = lineProblem(entry, options.maxLineBytes);
    if (problem !== undefined) {
      unreadable(entry, problem);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.text);
    } catch {
      unreadable(entry, 'not JSON');
      continue;
    }
    const shape = recordShapeProblem(parsed);
    if (shape !== undefined) {
      unreadable(entry, `not an audit record: ${shape}`);
      continue;
    }
    const record = parsed as AuditRecord;
    options.observe?.(record);
    // Times are RFC 3339 UTC with fixed width, so string order is time order.
    if (from !== undefined && record.time < from) continue;
    if (to !== undefined && record.time >= to) continue;
    if (types && !types.has(record.type)) continue;
    if (query.chain !== undefined && record.chain !== query.chain) continue;
    if (decisionFilters) {
      if (record.type !== 'decision' && record.type !== 'outcome') continue;
      if (query.purpose !== undefined && record.purpose !== query.purpose) continue;
      if (record.type === 'outcome') {
        if (query.purpose === undefined) continue;
        if (query.subject !== undefined || query.category !== undefined || query.decision !== undefined)
          continue;
        if (query.reason !== undefined || query.actor !== undefined || query.route !== undefined) continue;
      } else if (!matchesDecision(record, query)) continue;
    }
    yield record;
  }
}

function matchesDecision(record: DecisionEvent, query: AuditQuery): boolean {
  if (query.subject !== undefined && record.subject !== query.subject) return false;
  if (query.category !== undefined && !record.categories.includes(query.category)) return false;
  if (query.decision !== undefined && record.decision !== query.decision) return false;
  // A deprecated code also finds the codes it was split into (`separate_consent_required`).
  if (
    query.reason !== undefined &&
    record.reason !== query.reason &&
    DEPRECATED_REASON_ALIASES[record.reason as ReasonCode] !== query.reason
  )
    return false;
  if (query.actor !== undefined && record.actor?.id !== query.actor) return false;
  if (query.route !== undefined && record.route !== query.route) return false;
  return true;
}

export interface AuditStats {
  records: number;
  decisions: number;
  byPurpose: Record<string, number>;
  byCategory: Record<string, number>;
  byDecision: Record<string, number>;
  byReason: Record<string, number>;
  firstTime: string | undefined;
  lastTime: string | undefined;
}

/** Counts decisions by purpose, category, decision and reason. */
export async function auditStats(records: AsyncIterable<AuditRecord>): Promise<AuditStats> {
  const stats: AuditStats = {
    records: 0,
    decisions: 0,
    byPurpose: {},
    byCategory: {},
    byDecision: {},
    byReason: {},
    firstTime: undefined,
    lastTime: undefined,
  };
  const bump = (table: Record<string, number>, key: string) => {
    table[key] = (table[key] ?? 0) + 1;
  };
  for await (const record of records) {
    stats.records++;
    stats.firstTime ??= record.time;
    stats.lastTime = record.time;
    if (record.type !== 'decision') continue;
    stats.decisions++;
    bump(stats.byPurpose, record.purpose);
    bump(stats.byDecision, record.decision);
    bump(stats.byReason, record.reason);
    for (const category of record.categories) bump(stats.byCategory, category);
  }
  return stats;
}

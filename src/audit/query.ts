import type { AuditLine } from './reader.js';
import { readAuditLines } from './reader.js';
import type { AuditRecord, DecisionEvent } from './record.js';

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
  /** Record types to return (default: all). */
  types?: readonly AuditRecord['type'][];
}

/**
 * Streams the records of an audit log (all segments) that match the filters. Integrity is not
 * checked here; run `verifyAuditTrail` for that. Malformed lines are skipped.
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
  const lines = typeof source === 'string' ? readAuditLines(source) : source;
  for await (const { text, torn } of lines) {
    if (torn) continue;
    let record: AuditRecord;
    try {
      record = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof record !== 'object' || record === null || typeof record.time !== 'string') continue;
    // Times are RFC 3339 UTC with fixed width, so string order is time order.
    if (from !== undefined && record.time < from) continue;
    if (to !== undefined && record.time >= to) continue;
    if (types && !types.has(record.type)) continue;
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
  if (query.reason !== undefined && record.reason !== query.reason) return false;
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

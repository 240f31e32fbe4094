import type { AuditEvent, AuditRecord } from '../audit/record.js';
import { withinTime } from '../guard/deadline.js';

// What the PostgreSQL sink stores: a record as a row, the queued entry it is sealed from, and the
// errors and timeouts of its statements.

export interface Row {
  seq: number;
  time: string;
  type: string;
  purpose: string | null;
  decision: string | null;
  reason: string | null;
  subject: string | null;
  hash: string;
  line: string;
}

export interface Entry {
  row: Row;
  /** Kept so the record can be sealed again after a fork (same event, same time). */
  event: AuditEvent;
}

/** Another writer has extended this chain: the stored rows at our seqs carry other hashes. */
export class ChainConflictError extends Error {
  readonly code = 'chain_conflict';
  constructor(chain: string, table: string, foreign?: { fromSeq: number; toSeq: number }) {
    super(
      foreign
        ? `Audit chain "${chain}" in table ${table}: seq ${foreign.fromSeq}..${foreign.toSeq} were not written by this writer (forged, or another writer uses the same chain name); signed fork marker recorded, writing continues after them`
        : `Audit chain "${chain}" in table ${table} holds records this writer did not write: another writer uses the same chain name`,
    );
    this.name = 'ChainConflictError';
  }
}

export function rowOf(record: AuditRecord, line: string): Row {
  const decision = record.type === 'decision' ? record : undefined;
  return {
    seq: record.seq,
    time: record.time,
    type: record.type,
    purpose: record.type === 'decision' || record.type === 'outcome' ? record.purpose : null,
    decision: decision?.decision ?? null,
    reason: decision?.reason ?? null,
    subject: decision?.subject ?? null,
    hash: record.hash,
    // Stored without the newline; the verifier compares the text byte for byte.
    line: line.endsWith('\n') ? line.slice(0, -1) : line,
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return promise;
  return withinTime(promise, ms, what);
}

import { type TrailProblemKind, verifyAuditTrail } from './verify-trail.js';

/** What went wrong at the first bad record. */
export type AuditProblemKind =
  | 'malformed' // not JSON, or not an object with chain fields
  | 'not_canonical' // bytes differ from the canonical form: edited without re-hashing
  | 'hash_mismatch' // content changed
  | 'prev_mismatch' // link to the previous record broken
  | 'seq_gap' // records missing
  | 'reordered' // a record earlier in the chain appears later
  | 'chain_mismatch' // a record from another chain
  | 'truncated'; // the final line is incomplete

export interface AuditProblem {
  kind: AuditProblemKind;
  /** 1-based line number in the file. */
  line: number;
  /** Sequence number expected at this line. */
  expectedSeq: number;
  /** Sequence number found, when readable. */
  foundSeq?: number;
  message: string;
}

export interface AuditVerification {
  valid: boolean;
  /** Records checked before the first problem (all of them when valid). */
  records: number;
  chain?: string;
  lastSeq?: number;
  /** Hash of the last valid record: compare with a checkpoint kept elsewhere to detect truncation. */
  lastHash?: string;
  problem?: AuditProblem;
}

/**
 * Verifies a JSON-lines audit log: every line canonical, every hash right, seq gap-free from 0,
 * every `prev` pointing at the record before. Reports the first problem. Rotated segments
 * (`<file>.NNNNNNNNNNNN`) are read first, in chain order. Streams, so memory stays flat for any size.
 * For signed checkpoints, logs trimmed by retention, or every problem at once, use `verifyAuditTrail`.
 *
 * Deleting records from the end cannot be seen from the file alone; compare `lastSeq`/`lastHash`
 * with a copy kept outside the writer's reach.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog('./var/audit/pipl.jsonl');
 * if (!result.valid) console.error(result.problem?.message);
 * ```
 */
export async function verifyAuditLog(path: string): Promise<AuditVerification> {
  // One verifier: the trail verifier, stopped at its first problem, reported in this simpler shape.
  const trail = await verifyAuditTrail(path, { stopAtFirstProblem: true, checkpoints: [] });
  const first = trail.problems[0];
  const result: AuditVerification = {
    valid: first === undefined,
    records: trail.lastSeq === undefined ? 0 : trail.lastSeq - (trail.firstSeq ?? 0) + 1,
  };
  if (trail.chain !== undefined) result.chain = trail.chain;
  if (trail.lastSeq !== undefined) result.lastSeq = trail.lastSeq;
  if (trail.lastHash !== undefined) result.lastHash = trail.lastHash;
  if (first) {
    result.problem = {
      kind: KINDS[first.kind] ?? (first.cause as AuditProblemKind | undefined) ?? 'malformed',
      line: first.line ?? 0,
      expectedSeq: first.expectedSeq ?? 0,
      ...(first.foundSeq === undefined ? {} : { foundSeq: first.foundSeq }),
      message: first.message,
    };
  }
  return result;
}

/** Trail problem kinds in this API's terms (`record_modified` is split by its `cause`). */
const KINDS: Partial<Record<TrailProblemKind, AuditProblemKind>> = {
  record_malformed: 'malformed',
  chain_mismatch: 'chain_mismatch',
  records_missing: 'seq_gap',
  record_reordered: 'reordered',
  record_duplicated: 'reordered',
  link_broken: 'prev_mismatch',
  torn_line: 'truncated',
};

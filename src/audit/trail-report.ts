import type { HashAlg } from './chain.js';

// What `verifyAuditTrail` reports: every problem found, not just the first, and what it could not see.

export type TrailProblemKind =
  | 'record_malformed'
  | 'record_modified'
  | 'records_missing'
  | 'record_reordered'
  | 'record_duplicated'
  | 'record_forged'
  | 'link_broken'
  | 'chain_mismatch'
  | 'torn_line'
  | 'checkpoint_signature'
  | 'checkpoint_unknown_key'
  | 'checkpoint_malformed'
  | 'checkpoint_missing'
  | 'checkpoint_mismatch'
  | 'log_truncated'
  | 'trusted_checkpoint';

export interface TrailProblem {
  kind: TrailProblemKind;
  message: string;
  file?: string;
  line?: number;
  /** The record's seq, or the first seq of a missing range. */
  seq?: number;
  /** Last seq of a missing range. */
  seqTo?: number;
  /** For records: the seq the chain called for at this line, and the seq found there. */
  expectedSeq?: number;
  foundSeq?: number;
  /** For `record_modified`: its bytes are not canonical, or its hash does not match its content. */
  cause?: 'not_canonical' | 'hash_mismatch';
}

export interface AuditTrailReport {
  valid: boolean;
  chain: string | undefined;
  records: { total: number; invalid: number };
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  lastHash: string | undefined;
  firstTime: string | undefined;
  lastTime: string | undefined;
  checkpoints: {
    total: number;
    valid: number;
    invalid: number;
    kids: string[];
    lastCoveredSeq: number | undefined;
  };
  /** Records after the newest valid checkpoint: not yet signed. */
  unsignedTail: number;
  /**
   * Could deleting the newest records be seen? Only against a trusted checkpoint kept outside the
   * writer's reach: a log cut back together with its checkpoint file verifies otherwise.
   */
  truncation: { detectable: boolean; note: string };
  /** Hash of the chain's newest records: `sha256`, or `sm3` when its writer_start says so. */
  hashAlg?: HashAlg;
  /** Things an auditor should know that are not integrity failures: unclean restarts, dropped markers. */
  notices: string[];
  problems: TrailProblem[];
}

/** Truncation's note while no trusted checkpoint pins the newest records. */
const UNANCHORED =
  'deletion of the newest records cannot be detected without a trusted checkpoint (--trusted-checkpoint): a log cut back together with its checkpoints to an older checkpoint verifies';

/** A report with nothing checked yet: valid until a problem is found. */
export function emptyTrailReport(): AuditTrailReport {
  return {
    valid: true,
    chain: undefined,
    records: { total: 0, invalid: 0 },
    firstSeq: undefined,
    lastSeq: undefined,
    lastHash: undefined,
    firstTime: undefined,
    lastTime: undefined,
    checkpoints: { total: 0, valid: 0, invalid: 0, kids: [], lastCoveredSeq: undefined },
    unsignedTail: 0,
    truncation: { detectable: false, note: UNANCHORED },
    notices: [],
    problems: [],
  };
}

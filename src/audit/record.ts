import type { ReasonCode } from '../errors/codes.js';
import type { ConsentType, LegalBasis, Operation } from '../taxonomy/taxonomy.js';

/** Version of the audit record schema. Bumped only with a migration note. */
export const AUDIT_SCHEMA_VERSION = 1;

/** Fields every chained record has. The hash covers everything but `hash` itself. */
export interface ChainFields {
  /** Schema version. */
  v: number;
  /** UUIDv7: sortable by time. */
  id: string;
  /** RFC 3339 UTC with milliseconds. */
  time: string;
  /** Chain name (origin). One chain per writer. */
  chain: string;
  /** Gap-free sequence number within the chain, from 0. */
  seq: number;
  /** Hash of the previous record (for seq 0, of the chain's genesis string). */
  prev: string;
  /** SHA-256 (hex) over the canonical record without `hash`. */
  hash: string;
}

/** One access decision, allowed or denied. Never holds the token or a raw subject id. */
export interface DecisionEvent {
  type: 'decision';
  requestId: string;
  /** Who made the request, as the application identifies them. */
  actor: { id: string; type?: string } | null;
  /** Data subject, `hmac-sha256:` + base64url HMAC under the audit key (or raw, when pseudonymisation is off). */
  subject: string | null;
  method: string;
  route: string;
  purpose: string;
  categories: readonly string[];
  operation: Operation;
  basis: LegalBasis;
  consent: { id: string; noticeVersion: number; type?: ConsentType } | null;
  decision: 'allow' | 'deny' | 'degrade';
  reason: ReasonCode;
  cause?: ReasonCode;
  /** Status the guard answered with (denials) or 200 when the handler was let through. */
  status: number;
  /** `subjectKeyId`: fingerprint of the key that pseudonymised `subject` (see `subjectKeyId()`). */
  enforcer: { service: string; instance: string; version: string; subjectKeyId?: string };
}

/** Written when a writer opens a chain; notes whether the previous writer shut down cleanly. */
export interface WriterStartEvent {
  type: 'writer_start';
  cleanShutdown: boolean;
  /** Bytes of a torn final line removed on recovery, if any. */
  repairedBytes?: number;
  /** Hash of this writer's records when not SHA-256: `sm3` (GB/T 32905). */
  hashAlg?: 'sm3';
  enforcer: { service: string; instance: string; version: string };
}

/** Written by `close()`: the chain ended cleanly here. */
export interface WriterStopEvent {
  type: 'writer_stop';
  enforcer: { service: string; instance: string; version: string };
}

/** How a guarded request ended: written when the response finishes. */
export interface OutcomeEvent {
  type: 'outcome';
  requestId: string;
  purpose: string;
  /** HTTP status the application answered with. */
  status: number;
  durationMs: number;
}

/**
 * Written when the log recovers after refusing records for fail-open purposes: how many decisions
 * went unrecorded and when, so the hole is visible in the log itself.
 */
export interface DroppedEvent {
  type: 'dropped';
  /** Decisions not recorded. */
  count: number;
  /** Outcome records not recorded (the decisions they belong to were). */
  outcomes: number;
  /** RFC 3339 times of the first and last unrecorded decision. */
  from: string;
  to: string;
  /** Why the log refused them (error code such as ENOSPC, or `queue_full`). */
  cause: string;
  enforcer: { service: string; instance: string; version: string };
}

export type AuditEvent = DecisionEvent | OutcomeEvent | DroppedEvent | WriterStartEvent | WriterStopEvent;
export type AuditRecord = AuditEvent & ChainFields;

import type { ReasonCode } from '../errors/codes.js';
import type {
  ConsentType,
  LegalBasis,
  Operation,
  TransferExemption,
  TransferMechanism,
} from '../taxonomy/taxonomy.js';

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
  consent: ConsentLink | null;
  decision: 'allow' | 'deny' | 'degrade';
  reason: ReasonCode;
  cause?: ReasonCode;
  /** Status the guard answered with (denials) or 200 when the handler was let through. */
  status: number;
  enforcer: { service: string; instance: string; version: string };
  /** `sha256:` digest of the policy in force; its text is in this writer's `policy` record (Art. 69). */
  policy?: string;
  /** The purpose's impact assessment (Art. 55–56). */
  piaRef?: string;
  /** Who receives the PI: a handler (`provide`, Art. 23) or a processor under contract (`entrust`, Art. 21). */
  recipient?: { name: string; role: 'handler' | 'processor'; contractRef?: string };
  /**
   * Cross-border transfer (Art. 38–39): destination and overseas recipient, and, when a declared
   * mechanism was valid, which one. `sensitive`: sensitive PI (or a child's) crossed, which counts
   * towards the 10,000-subject threshold of the 2024 Provisions.
   */
  transfer?: TransferLink;
}

/** The consent a decision rests on: never the token. */
export interface ConsentLink {
  id: string;
  noticeVersion: number;
  type?: ConsentType;
  /** The privacy notice the consent was given under (Art. 17). */
  noticeId?: string;
  /** When the grant was given, epoch seconds. */
  givenAt?: number;
  /** Guardian who consented for a child under 14 (Art. 31), pseudonymised like the subject. */
  guardian?: string;
}

/** The cross-border part of a decision record. */
export interface TransferLink {
  country: string;
  recipient: string;
  mechanism?: TransferMechanism;
  exemption?: TransferExemption;
  reference?: string;
  sensitive: boolean;
}

/**
 * The full policy in force, written once when a guard starts writing to a log, so an auditor can see
 * exactly which rules decided: `digest` is `sha256:` over the RFC 8785 canonical JSON of `policy`,
 * and every decision record names it.
 */
export interface PolicyEvent {
  type: 'policy';
  digest: string;
  notice: { id: string; version: number };
  policy: Record<string, unknown>;
  enforcer: { service: string; instance: string; version: string };
}

/** Written when a writer opens a chain; notes whether the previous writer shut down cleanly. */
export interface WriterStartEvent {
  type: 'writer_start';
  cleanShutdown: boolean;
  /** Bytes of a torn final line removed on recovery, if any. */
  repairedBytes?: number;
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
  /** Art. 6: response fields removed because the decision did not cover their categories. */
  withheld?: readonly string[];
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

export type AuditEvent =
  | DecisionEvent
  | OutcomeEvent
  | DroppedEvent
  | WriterStartEvent
  | WriterStopEvent
  | PolicyEvent;
export type AuditRecord = AuditEvent & ChainFields;

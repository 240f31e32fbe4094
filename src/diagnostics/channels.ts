import { channel } from 'node:diagnostics_channel';
import type { ReasonCode } from '../errors/codes.js';
import type { LegalBasis, Operation } from '../taxonomy/taxonomy.js';

/** One guard decision. Published once per request by the framework-free guard, whatever the adapter. */
export const DECISION_CHANNEL = 'pipl-guard:decision';
/** Audit-sink health: batches written, write failures, retries, recovery, checkpoints. */
export const AUDIT_CHANNEL = 'pipl-guard:audit';
/** Data-subject actions: withdrawals (Art. 15) and, later, opt-outs (Art. 24). */
export const SUBJECT_CHANNEL = 'pipl-guard:subject';
/** Verified-token cache lookups of the consent verifier (hit or miss). */
export const TOKEN_CACHE_CHANNEL = 'pipl-guard:token-cache';

/**
 * Message on {@link DECISION_CHANNEL}. Never carries the token or a raw subject id: `subject` is
 * the same HMAC pseudonym the audit record holds (null when the request named no subject).
 */
export interface DecisionMessage {
  readonly requestId: string;
  readonly purpose: string;
  readonly categories: readonly string[];
  readonly operation: Operation;
  readonly basis: LegalBasis;
  readonly decision: 'allow' | 'deny' | 'degrade';
  readonly reason: ReasonCode;
  /** HTTP status the guard answers with (200 when the handler runs). */
  readonly status: number;
  /** Time spent in the guard (verify, withdrawal lookup, decide, audit append), in milliseconds. */
  readonly durationMs: number;
  /** Route pattern (e.g. `/users/:id`), never the raw URL. */
  readonly route: string;
  readonly method: string;
  /** Pseudonymised subject (as in the audit log), or null. */
  readonly subject: string | null;
}

/** Message on {@link AUDIT_CHANNEL}. */
export interface AuditHealthMessage {
  /**
   * `batch_written`: a batch reached the log (`records` says how many). `write_failed`: a write (or
   * a retry of it) failed; the sink refuses records (guards answer 503). `retry`: a retry starts.
   * `recovered`: the failed bytes were written; the sink takes records again. `checkpoint_shipped`
   * / `checkpoint_failed`: a signed checkpoint was issued and handed to `onCheckpoint`, or not.
   */
  readonly event:
    | 'batch_written'
    | 'write_failed'
    | 'retry'
    | 'recovered'
    | 'checkpoint_shipped'
    | 'checkpoint_failed';
  /** Which kind of sink: `file`, `postgres`, ... */
  readonly sink: string;
  /** The sink's chain name. */
  readonly chain: string;
  /** For `batch_written`: records in the batch. */
  readonly records?: number;
  /** For failures: the error's name, code and message (never a record's content). */
  readonly error?: { readonly name: string; readonly code?: string; readonly message: string };
}

/** Message on {@link SUBJECT_CHANNEL}. */
export type SubjectMessage = {
  /** A consent id was withdrawn (Art. 15) through `pipl.withdraw()`. */
  readonly action: 'withdraw';
  /** The consent record id (`jti`): not a subject id. */
  readonly consentId: string;
  /** Until when the withdrawal is kept (ms since epoch), if bounded. */
  readonly until: number | undefined;
};

/** Message on {@link TOKEN_CACHE_CHANNEL}. */
export interface TokenCacheMessage {
  readonly result: 'hit' | 'miss';
}

export const decisionChannel = channel(DECISION_CHANNEL);
export const auditChannel = channel(AUDIT_CHANNEL);
export const subjectChannel = channel(SUBJECT_CHANNEL);
export const tokenCacheChannel = channel(TOKEN_CACHE_CHANNEL);

/**
 * Publishes sink health. Sinks call it with primitives so that, with nobody subscribed, nothing
 * is allocated: the message is built only when the channel has subscribers.
 */
export function publishAuditHealth(
  sink: string,
  chain: string,
  event: AuditHealthMessage['event'],
  detail?: number | unknown,
): void {
  if (!auditChannel.hasSubscribers) return;
  const message: { -readonly [K in keyof AuditHealthMessage]: AuditHealthMessage[K] } = {
    event,
    sink,
    chain,
  };
  if (typeof detail === 'number') message.records = detail;
  else if (detail !== undefined) message.error = describeError(detail);
  auditChannel.publish(message);
}

const HIT: TokenCacheMessage = Object.freeze({ result: 'hit' });
const MISS: TokenCacheMessage = Object.freeze({ result: 'miss' });

/** Publishes one verified-token cache lookup (frozen messages: nothing allocated per request). */
export function publishTokenCache(hit: boolean): void {
  if (tokenCacheChannel.hasSubscribers) tokenCacheChannel.publish(hit ? HIT : MISS);
}

/** Publishes a withdrawal (or, later, an opt-out) once it has been stored. */
export function publishSubject(message: SubjectMessage): void {
  if (subjectChannel.hasSubscribers) subjectChannel.publish(message);
}

function describeError(error: unknown): NonNullable<AuditHealthMessage['error']> {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string'
    ? { name: error.name, code, message: error.message }
    : { name: error.name, message: error.message };
}

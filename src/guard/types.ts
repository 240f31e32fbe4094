import type { AuditSink } from '../audit/sink.js';
import type { VerifiedConsent } from '../consent/claims.js';
import type { HeaderReader, TokenLocation } from '../consent/extract.js';
import type { RevocationStore } from '../consent/revocation.js';
import type { ConsentVerifier, ConsentVerifierOptions } from '../consent/verify.js';
import type { Decision } from '../decide/decide.js';
import type { PiplGuardError } from '../errors/errors.js';
import type { Policy } from '../policy/define-policy.js';
import type { Requirement, RightsRequest, RouteRequirement } from '../policy/requirement.js';
import type { SubjectEventInput } from '../subject/audit.js';
import type { SubjectStore } from '../subject/store.js';
import type { BuiltinCategory } from '../taxonomy/taxonomy.js';
import type { DenialLogLevel, PiplLogger } from './logger.js';

export interface PiplGuardOptions<P extends string, C extends string> {
  /** The validated policy from `definePolicy()`. */
  policy: Policy<P, C>;
  /** How consent tokens are verified: a verifier, or options for one. Required when a purpose has basis `consent`. */
  consent?: ConsentVerifier | ConsentVerifierOptions;
  /** Where the token is read from (default: the `pipl-consent` header only). */
  token?: TokenLocation;
  /** Withdrawn consent ids, looked up on every request (default: in-memory). */
  revocations?: RevocationStore;
  /**
   * Withdrawals (one consent, one purpose, everything) and opt-outs of data subjects, looked up once
   * per request whatever the lawful basis (default: in-memory, unless `revocations` is given).
   * Replaces `revocations`: give one or the other.
   */
  subjects?: SubjectStore;
  /**
   * Rights requests (Art. 44-48) made by someone other than the subject: `true` when `actor` may act
   * for `subject` (a guardian, an authorised agent). Default: only the subject may.
   */
  isAuthorizedAgent?: (
    actor: { id: string; type?: string },
    subject: string,
    right: RightsRequest,
  ) => boolean | Promise<boolean>;
  audit: {
    sink: AuditSink;
    /** HMAC key (≥ 32 bytes) that pseudonymises subject ids in the log. `false` stores them in clear: say why. */
    subjectKey: string | Uint8Array | false;
    /**
     * When the guard waits for the record to reach disk before the handler runs, for purposes that
     * declare no `audit.durability` (those touching sensitive or children's PI default to `durable`):
     * `sensitive` (default) when the token says the subject is under 14, `always`, or `never`.
     */
    durable?: 'sensitive' | 'always' | 'never';
    /**
     * How long a request waits for its durable record to be stored (default 5000 ms). A sink still
     * silent by then (a hung disk or volume) fails the request: 503 `audit_unavailable`, `onError`
     * told, and the sealed decision is followed by a 503 `outcome` once the log takes records again.
     */
    durableTimeoutMs?: number;
    /** Also record how each allowed request ended (status, duration) when its response finishes. Default true. */
    outcomes?: boolean;
    service?: string;
    instance?: string;
  };
  /** Called with unexpected internal errors (never with ordinary denials). The request still fails closed. */
  onError?: (error: unknown) => void;
  /**
   * A pino-compatible logger (`{ error, warn, info, debug }`, each `(fields, message)`): start-up
   * warnings, audit-sink failures and recovery, denials, internal errors. Subjects appear only as
   * their audit-log pseudonym; tokens never.
   */
  logger?: PiplLogger;
  /** Level at which denials are logged when `logger` is set (default `info`); `false` turns them off. */
  logDenials?: DenialLogLevel;
  /**
   * Art. 27: has this subject explicitly refused processing of their disclosed information for this
   * purpose? Asked for `public_info` routes that name their subject; a refusal answers 403
   * `public_info_refused`. A lookup that fails, or answers anything but a boolean (Redis's `SISMEMBER`
   * answers `1`: compare it), stops the request (503 `guard_unavailable`).
   */
  publicInfoRefusals?: (subjectId: string, purpose: string) => boolean | Promise<boolean>;
  /**
   * How long a request waits for a subject or withdrawal store, `publicInfoRefusals` or
   * `isAuthorizedAgent` that answers with a promise (default 2000 ms). One that has not answered by
   * then is treated as failed: 503 (`revocation_unavailable` for the stores, `guard_unavailable` for
   * the hooks), and `onError` is told. Stores that answer at once (the in-memory ones) are not timed.
   */
  lookupTimeoutMs?: number;
}

/** One request as the guard sees it: adapters translate their framework's request into this. */
export interface GuardRequest {
  method: string;
  /** Route pattern, e.g. `/patients/:id`. Never the raw URL, which may hold personal information. */
  route: string | undefined;
  header: HeaderReader;
  /** Data subject the route names, if it declared a resolver. */
  subjectId: string | undefined;
  subjectDeclared: boolean;
  actor: { id: string; type?: string } | null;
}

/** What the handler and the adapter get back. */
export interface GuardOutcome {
  readonly decision: Decision;
  /** The verified consent, when a token was sent and verified. */
  readonly consent: VerifiedConsent | undefined;
  /** Correlates response, audit record and logs. */
  readonly requestId: string;
  /** Set when the request must be refused. */
  readonly error: PiplGuardError | undefined;
}

/** What a guarded handler can read: `res.locals.pipl` (Express) or `ctx.state.pipl` (Koa). */
export interface PiplContext {
  readonly decision: Decision;
  /** The verified consent behind the decision, if a token was sent. */
  readonly consent: VerifiedConsent | undefined;
  readonly requestId: string;
  /**
   * True when the purpose degraded (Art. 16, 24): the handler runs, but must serve the response
   * without the personal information (or without personalisation).
   */
  readonly degraded: boolean;
}

/** Resolves who is making the request, for the audit record (a numeric id is recorded as text). */
export type ActorResolver<R> = (
  request: R,
) => { id: string | number; type?: string } | string | number | undefined;

/** An id as the log holds it: a non-empty string, or a safe integer (a database key) in decimal. */
export function idText(id: unknown): string | undefined {
  if (typeof id === 'string') return id === '' ? undefined : id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : undefined;
}

/**
 * Turns a resolved actor into the audit form: its id and type, nothing else. Resolvers often hand
 * over the application's whole user object (`req => req.user`), whose email or phone must not reach
 * the log; a numeric id (a database key) is kept as text. Anything without a usable id is no actor.
 */
export function normalizeActor(actor: unknown): GuardRequest['actor'] {
  // Already in audit form (an adapter's, handed to the guard): the same object, nothing allocated.
  if (actor === null || isAuditActor(actor)) return actor;
  const bare = idText(actor);
  if (bare !== undefined) return { id: bare };
  if (typeof actor !== 'object' || actor === null) return null;
  const { id, type } = actor as { id?: unknown; type?: unknown };
  const text = idText(id);
  if (text === undefined) return null;
  return typeof type === 'string' ? { id: text, type } : { id: text };
}

/** Is `actor` exactly `{ id }` or `{ id, type }`, a non-empty string id and a string type? */
function isAuditActor(actor: unknown): actor is { id: string; type?: string } {
  if (typeof actor !== 'object' || actor === null) return false;
  const { id, type } = actor as { id?: unknown; type?: unknown };
  if (typeof id !== 'string' || id === '' || (type !== undefined && typeof type !== 'string')) return false;
  // Counted with for-in: Object.keys would allocate an array on every request.
  for (const key in actor) if (key !== 'id' && key !== 'type') return false;
  return true;
}

/** The framework-free guard every adapter calls: one decision path. */
export interface PiplGuard<P extends string = string, C extends string = string> {
  readonly policy: Policy<P, C>;
  /** Checks a route's requirement against the policy, at start-up. Throws `PiplConfigError`. */
  requirement(purpose: P, route: RouteRequirement<BuiltinCategory | C>): Requirement;
  /** Runs one request through extract → verify → withdrawal → decide → audit. Never rejects. */
  check(requirement: Requirement, request: GuardRequest): Promise<GuardOutcome>;
  /**
   * Records how a let-through request ended. Adapters call it when the response finishes; a no-op
   * when `audit.outcomes` is false. Never throws: a full log already failed the request's own record.
   */
  recordOutcome(outcome: GuardOutcome, status: number, startedAt: number): void;
  /**
   * Withdraws a consent id (Art. 15): every later request carrying it is refused. `until` (epoch
   * seconds) is the latest `exp` of any token carrying the id; the withdrawal is kept at least until
   * then (plus a grace period), and at least as long as the verifier accepts a token
   * (`maxTokenAgeSec`). Without `until` it is kept for good. Rejects with a `RangeError` when `until`
   * is in the past (nothing withdrawn, nothing recorded).
   *
   * Every call is audited (a durable `consent_withdrawal` record, `via: 'api'`): `by.subject` names
   * the data subject, so the withdrawal shows in their history (Art. 45), and `by.actor` who acted
   * (a support agent, say); both pseudonymised like every id in the log, `null` when not given. A
   * store that fails rejects with its error, recorded as a failed attempt. When the log cannot take
   * the record, the withdrawal still applies and the call rejects with `audit_unavailable`.
   */
  withdraw(
    consentId: string,
    until?: number,
    by?: { subject?: string; actor?: { id: string; type?: string } },
  ): Promise<void>;
  /** The subject store the guard consults (undefined when only a legacy `revocations` store is set). */
  readonly subjects: SubjectStore | undefined;
  /**
   * Writes a data-subject event (withdrawal, preference change, deletion started) to the audit log,
   * with the subject pseudonymised and the instance stamped. Durable: resolves once it is on disk.
   * Throws `PiplGuardError` `audit_unavailable` when the log cannot take it.
   */
  recordSubjectEvent(event: SubjectEventInput): Promise<void>;
  /** Can the audit log take records now? Subject endpoints check this before changing anything. */
  auditAvailable(): boolean;
  /**
   * Hands an unexpected error (a hook that threw, a bug) to `onError` and the logger, for adapters and
   * endpoints that refused a request because of it. Never throws, whatever `onError` does.
   */
  reportError(error: unknown): void;
  /** The `lookupTimeoutMs` option: how long the guard and its endpoints wait for an application's hook. */
  readonly lookupTimeoutMs: number;
  /** The `isAuthorizedAgent` option, or `false` for anyone but the subject. */
  isAuthorizedAgent(
    actor: { id: string; type?: string },
    subject: string,
    right: RightsRequest,
  ): Promise<boolean>;
  /**
   * Checks everything a request will need, at start-up: imports local keys (rejects with
   * `PiplConfigError` when they are unusable), asks the withdrawal store once (rejects with
   * `PiplGuardError` `revocation_unavailable`) and checks the audit sink takes records (rejects with
   * `audit_unavailable`). Await it before listening.
   */
  ready(): Promise<void>;
  /** Flushes and closes the audit sink. */
  close(): Promise<void>;
}

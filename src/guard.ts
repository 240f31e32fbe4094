import { uuidv7 } from './audit/chain.js';
import { createPseudonymizer } from './audit/pseudonymize.js';
import type { DecisionEvent, OutcomeEvent } from './audit/record.js';
import { type AuditSink, defaultEnforcer, type Enforcer } from './audit/sink.js';
import type { VerifiedConsent } from './consent/claims.js';
import { createTokenExtractor, type HeaderReader, type TokenLocation } from './consent/extract.js';
import { memoryRevocationStore, type RevocationStore } from './consent/revocation.js';
import {
  type ConsentVerifier,
  type ConsentVerifierOptions,
  createConsentVerifier,
} from './consent/verify.js';
import { type Decision, decide, refuse } from './decide/decide.js';
import { isPiplGuardError, PiplConfigError, PiplGuardError } from './errors/errors.js';
import type { Policy } from './policy/define-policy.js';
import { compileRequirement, type Requirement, type RouteRequirement } from './policy/requirement.js';
import type { BuiltinCategory } from './taxonomy/taxonomy.js';

export interface PiplGuardOptions<P extends string, C extends string> {
  /** The validated policy from `definePolicy()`. */
  policy: Policy<P, C>;
  /** How consent tokens are verified: a verifier, or options for one. Required when a purpose has basis `consent`. */
  consent?: ConsentVerifier | ConsentVerifierOptions;
  /** Where the token is read from (default: the `pipl-consent` header only). */
  token?: TokenLocation;
  /** Withdrawn consent ids, looked up on every request (default: in-memory). */
  revocations?: RevocationStore;
  audit: {
    sink: AuditSink;
    /** HMAC key (≥ 32 bytes) that pseudonymises subject ids in the log. `false` stores them in clear: say why. */
    subjectKey: string | Uint8Array | false;
    /**
     * When the guard waits for the record to reach disk before the handler runs:
     * `sensitive` (default) for sensitive PI and children's PI, `always`, or `never`.
     */
    durable?: 'sensitive' | 'always' | 'never';
    /** Also record how each allowed request ended (status, duration) when its response finishes. Default true. */
    outcomes?: boolean;
    service?: string;
    instance?: string;
  };
  /** Called with unexpected internal errors (never with ordinary denials). The request still fails closed. */
  onError?: (error: unknown) => void;
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

/** Resolves who is making the request, for the audit record. */
export type ActorResolver<R> = (request: R) => { id: string; type?: string } | string | undefined;

/** Turns a resolved actor into the audit form. */
export function normalizeActor(
  actor: { id: string; type?: string } | string | undefined,
): GuardRequest['actor'] {
  if (actor === undefined) return null;
  return typeof actor === 'string' ? { id: actor } : actor;
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
  /** Withdraws a consent id (Art. 15): every later request carrying it is refused. */
  withdraw(consentId: string, until?: number): Promise<void>;
  /** Resolves when local keys are imported; rejects with `PiplConfigError` when they are unusable. */
  ready(): Promise<void>;
  /** Flushes and closes the audit sink. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RETRY_AFTER: Partial<Record<string, string>> = {
  audit_unavailable: '5',
  keys_unavailable: '30',
  revocation_unavailable: '5',
  guard_unavailable: '5',
};

/**
 * Builds the guard. Everything is validated here, once: policy, verifier options, token location,
 * audit key. Pass the result to an adapter (`pipl-guard/express`, `pipl-guard/koa`).
 *
 * @example
 * ```ts
 * const pipl = createPiplGuard({
 *   policy,
 *   consent: { issuer: 'https://consent.example.cn', audience: 'orders-api', algorithms: ['ES256'], jwksUri },
 *   audit: { sink: fileAuditSink({ path: './audit.jsonl' }), subjectKey: process.env.PIPL_AUDIT_KEY! },
 * });
 * ```
 */
export function createPiplGuard<P extends string, C extends string>(
  options: PiplGuardOptions<P, C>,
): PiplGuard<P, C> {
  const { policy } = options;
  const needsConsent = [...policy.purposes.values()].some((purpose) => purpose.basis === 'consent');
  if (needsConsent && !options.consent) {
    throw new PiplConfigError(
      'the policy has consent-based purposes, so set `consent` (verifier options or a verifier)',
    );
  }
  if (!options.audit?.sink) throw new PiplConfigError('audit.sink is required: every decision is audited');
  if (options.audit.subjectKey === undefined) {
    throw new PiplConfigError(
      'audit.subjectKey is required (≥ 32 bytes) to pseudonymise subject ids; `false` turns it off',
    );
  }
  const verifier: ConsentVerifier | undefined =
    options.consent === undefined
      ? undefined
      : 'verify' in options.consent
        ? options.consent
        : createConsentVerifier(options.consent);
  const extractToken = createTokenExtractor(options.token);
  const scheme = options.token?.authorization && options.token.header === false ? 'Bearer' : 'PIPL-Consent';
  const revocations = options.revocations ?? memoryRevocationStore();
  const sink = options.audit.sink;
  const pseudonymize =
    options.audit.subjectKey === false ? (id: string) => id : createPseudonymizer(options.audit.subjectKey);
  const durability = options.audit.durable ?? 'sensitive';
  const enforcer: Enforcer = defaultEnforcer(options.audit.service, options.audit.instance);
  const onError = options.onError ?? (() => {});
  const recordOutcomes = options.audit.outcomes ?? true;

  function headersFor(code: string): Record<string, string> {
    if (code === 'token_ambiguous')
      return { 'www-authenticate': `${scheme} realm="pipl-guard", error="invalid_request"` };
    const retry = RETRY_AFTER[code];
    if (retry) return { 'retry-after': retry };
    if (code.startsWith('token_') || code === 'claims_invalid') {
      return {
        'www-authenticate': `${scheme} realm="pipl-guard", error="invalid_token", error_description="${code}"`,
      };
    }
    return {};
  }

  function refusal(code: PiplGuardError['code'], detail?: string): PiplGuardError {
    return new PiplGuardError(code, detail, headersFor(code));
  }

  function needsDurable(requirement: Requirement, consent: VerifiedConsent | undefined): boolean {
    const declared = requirement.purpose.durability;
    if (declared !== undefined) return declared === 'durable';
    if (durability === 'never') return false;
    if (durability === 'always') return true;
    return requirement.sensitiveCategories.length > 0 || consent?.ageBand === 'under14';
  }

  async function evaluate(
    requirement: Requirement,
    request: GuardRequest,
  ): Promise<{ decision: Decision; consent: VerifiedConsent | undefined; error?: PiplGuardError }> {
    if (requirement.purpose.basis !== 'consent') {
      return { decision: decide(requirement, undefined, contextFor(request, false)), consent: undefined };
    }
    let consent: VerifiedConsent | undefined;
    let withdrawn = false;
    try {
      const token = extractToken(request.header);
      if (token !== undefined) {
        if (!verifier) throw refusal('keys_unavailable');
        consent = await verifier.verify(token);
        try {
          const status = revocations.isRevoked(consent.id);
          withdrawn = typeof status === 'boolean' ? status : await status;
        } catch (error) {
          onError(error);
          throw refusal('revocation_unavailable');
        }
      }
    } catch (error) {
      if (!isPiplGuardError(error)) throw error;
      const known = refusal(error.code, error.message);
      return { decision: refuse(requirement, known.code, consent), consent: undefined, error: known };
    }
    return { decision: decide(requirement, consent, contextFor(request, withdrawn)), consent };
  }

  function contextFor(request: GuardRequest, withdrawn: boolean) {
    return {
      subjectId: request.subjectId,
      subjectDeclared: request.subjectDeclared,
      withdrawn,
      noticeId: policy.notice.id,
    };
  }

  function auditEvent(
    requirement: Requirement,
    request: GuardRequest,
    requestId: string,
    decision: Decision,
    consent: VerifiedConsent | undefined,
  ): DecisionEvent {
    const subject = request.subjectId ?? consent?.subject;
    const event: DecisionEvent = {
      type: 'decision',
      requestId,
      actor: request.actor,
      subject: subject === undefined ? null : pseudonymize(subject),
      method: request.method,
      route: requirement.route ?? request.route ?? '(unknown)',
      purpose: decision.purpose,
      categories: decision.categories,
      operation: decision.operation,
      basis: decision.basis,
      consent:
        decision.consentId === undefined
          ? null
          : {
              id: decision.consentId,
              noticeVersion: decision.noticeVersion ?? 0,
              ...(decision.consentType ? { type: decision.consentType } : {}),
            },
      decision: decision.effect,
      reason: decision.reason,
      status: decision.status,
      enforcer,
    };
    if (decision.cause) event.cause = decision.cause;
    return event;
  }

  async function checkRequest(requirement: Requirement, request: GuardRequest): Promise<GuardOutcome> {
    const requestId = requestIdOf(request);
    const outcome = await decideAndAudit(requirement, request, requestId);
    if (outcome.error) outcome.error.requestId = requestId;
    return outcome;
  }

  function requestIdOf(request: GuardRequest): string {
    const supplied = request.header('x-request-id');
    return typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : uuidv7(Date.now());
  }

  /** Outcomes (503) of requests whose durable record was sealed but not written in time. */
  const refusedAfterSealing: OutcomeEvent[] = [];
  function recordRefusals() {
    try {
      while (refusedAfterSealing.length > 0) {
        sink.append(refusedAfterSealing[0] as OutcomeEvent);
        refusedAfterSealing.shift();
      }
    } catch {
      // Still failing: they wait for the next healthy moment (or close()).
    }
  }

  async function decideAndAudit(
    requirement: Requirement,
    request: GuardRequest,
    requestId: string,
  ): Promise<GuardOutcome> {
    if (refusedAfterSealing.length > 0 && sink.healthy) recordRefusals();
    try {
      // An audit log that cannot be written never lets a request through (unless the purpose opted out).
      if (!sink.healthy && !requirement.purpose.failOpen) {
        const error = refusal('audit_unavailable');
        return { decision: refuse(requirement, 'audit_unavailable'), consent: undefined, requestId, error };
      }
      const { decision, consent, error } = await evaluate(requirement, request);
      const event = auditEvent(requirement, request, requestId, decision, consent);
      let written: undefined | Promise<void>;
      try {
        written = sink.append(event, decision.effect !== 'deny' && needsDurable(requirement, consent));
        if (written) await written;
      } catch (auditError) {
        if (!isPiplGuardError(auditError)) onError(auditError);
        if (requirement.purpose.failOpen) {
          // Opted in explicitly: the decision stands unrecorded, and the hole is recorded on recovery.
          sink.noteDropped(isPiplGuardError(auditError) ? 'refused' : 'write_failed');
          if (decision.effect === 'deny') {
            return {
              decision,
              consent: undefined,
              requestId,
              error: error ?? refusal(decision.reason as PiplGuardError['code']),
            };
          }
          return { decision, consent, requestId, error: undefined };
        }
        if (written !== undefined && decision.effect !== 'deny') {
          // The sealed `allow` record is retried and will land; say that the request was refused.
          if (refusedAfterSealing.length < 10_000) {
            refusedAfterSealing.push({
              type: 'outcome',
              requestId,
              purpose: decision.purpose,
              status: 503,
              durationMs: 0,
            });
          } else sink.noteDropped('outcome_refused');
        }
        const failed = refusal('audit_unavailable');
        return {
          decision: refuse(requirement, 'audit_unavailable', consent),
          consent: undefined,
          requestId,
          error: failed,
        };
      }
      if (decision.effect === 'deny') {
        return {
          decision,
          consent: undefined,
          requestId,
          error: error ?? refusal(decision.reason as PiplGuardError['code']),
        };
      }
      // A degraded handler gets no consent that failed: it must not read grants that do not apply.
      const usable = decision.reason === 'degraded_no_consent' ? undefined : consent;
      return { decision, consent: usable, requestId, error: undefined };
    } catch (unexpected) {
      onError(unexpected);
      const error = refusal('guard_unavailable');
      return { decision: refuse(requirement, 'guard_unavailable'), consent: undefined, requestId, error };
    }
  }

  return {
    policy,
    requirement(purpose, route) {
      return compileRequirement(policy, purpose, route);
    },
    check: checkRequest,
    recordOutcome(outcome, status, startedAt) {
      if (!recordOutcomes || outcome.error) return;
      try {
        sink.append({
          type: 'outcome',
          requestId: outcome.requestId,
          purpose: outcome.decision.purpose,
          status,
          durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
        });
      } catch {
        sink.noteDropped('outcome_refused');
      }
    },
    async withdraw(consentId, until) {
      await revocations.revoke(consentId, until);
    },
    async ready() {
      await verifier?.ready();
    },
    close() {
      recordRefusals();
      for (const _ of refusedAfterSealing) sink.noteDropped('outcome_refused');
      return sink.close();
    },
  };
}

import { uuidv7 } from '../audit/chain.js';
import type { VerifiedConsent } from '../consent/claims.js';
import { createTokenExtractor } from '../consent/extract.js';
import { memoryRevocationStore } from '../consent/revocation.js';
import { type ConsentVerifier, createConsentVerifier } from '../consent/verify.js';
import { type Decision, refuse } from '../decide/decide.js';
import type { DenyReason } from '../errors/codes.js';
import { isPiplGuardError, PiplGuardError } from '../errors/errors.js';
import { compileRequirement, type Requirement } from '../policy/requirement.js';
import { memorySubjectStore } from '../subject/memory-store.js';
import { createRightsCheck } from '../subject/rights-check.js';
import { createAnswers } from './answers.js';
import { createAuditTrail } from './audit-trail.js';
import { isThenable, withinTime } from './deadline.js';
import { createEvaluator, type Verdict } from './evaluate.js';
import { checkLoggerOptions, logStartupWarnings, quietly, watchAuditHealth } from './logger.js';
import { createDecisionObserver } from './observe.js';
import { checkGuardOptions } from './options.js';
import { createRefusals } from './refusal.js';
import { createSubjectWarnings } from './subject-warning.js';
import type { GuardOutcome, GuardRequest, PiplGuard, PiplGuardOptions } from './types.js';
import { createWithdraw } from './withdraw.js';

/**
 * `fail_open` never covers sensitive PI or a child's PI: all PI of a subject under 14 is sensitive
 * (Art. 28, 31), and the age band is only known from the verified token, at request time.
 */
function mayFailOpen(requirement: Requirement, consent: VerifiedConsent | undefined): boolean {
  return (
    requirement.sensitiveCategories.length === 0 &&
    !requirement.purpose.childrenUnder14 &&
    consent?.ageBand !== 'under14'
  );
}

/** The consent id `ready()` looks up to see that the withdrawal store answers. */
const READY_PROBE = 'pipl-guard:ready-probe';

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
  try {
    return buildGuard(options);
  } catch (error) {
    // A start-up that fails leaves the log as it found it: no half-started log, no `.lock` behind,
    // so the next start is not reported as an unclean restart.
    options?.audit?.sink?.discard?.();
    throw error;
  }
}

function buildGuard<P extends string, C extends string>(options: PiplGuardOptions<P, C>): PiplGuard<P, C> {
  const { policy } = options;
  const { durableTimeoutMs, lookupTimeoutMs } = checkGuardOptions(options);
  const verifier: ConsentVerifier | undefined =
    options.consent === undefined || 'verify' in options.consent
      ? options.consent
      : createConsentVerifier(options.consent);
  const extractToken = createTokenExtractor(options.token);
  const refusal = createRefusals(
    options.token?.authorization && options.token.header === false ? 'Bearer' : 'PIPL-Consent',
  );
  // Legacy: a `revocations` store alone keeps its behaviour (one EXISTS per request, no preferences).
  const subjects = options.subjects ?? (options.revocations ? undefined : memorySubjectStore());
  const revocations = options.revocations ?? memoryRevocationStore();
  const trail = createAuditTrail(options.audit, policy);
  const { logger } = options;
  checkLoggerOptions(logger, options.logDenials);
  const reportError = options.onError;
  /** The application's hook, which may throw or reject: neither may change the answer or go unhandled. */
  function onError(error: unknown): void {
    quietly(() => logger?.error({ err: error }, 'pipl-guard: internal error; the request was refused'));
    if (!reportError) return;
    try {
      const returned: unknown = reportError(error);
      if (isThenable(returned)) returned.then(undefined, () => {});
    } catch {
      // The refusal stands whatever the hook does.
    }
  }
  const subjectWarnings = createSubjectWarnings();
  const observer = createDecisionObserver(trail.pseudonymize, {
    logger,
    denials: options.logDenials ?? 'info',
  });
  if (logger) {
    const sharedRevocations = options.revocations !== undefined;
    logStartupWarnings(logger, { policy, subjectKey: options.audit.subjectKey, sharedRevocations });
  }
  const stopWatchingAudit = logger ? watchAuditHealth(logger) : () => {};
  const answers = createAnswers({
    subjects,
    revocations,
    isAuthorizedAgent: options.isAuthorizedAgent,
    lookupTimeoutMs,
    onError,
    unavailable: () => refusal('revocation_unavailable'),
  });
  const evaluate = createEvaluator({
    noticeId: policy.notice.id,
    verifier,
    extractToken,
    refusal,
    subjects,
    answers,
    rightsCheck: createRightsCheck(answers.authorizedAgent),
    publicInfoRefusals: options.publicInfoRefusals,
  });

  /** A refusal, tied to its request so the problem body and the audit record carry the same id. */
  function refused(requestId: string, decision: Decision, error?: PiplGuardError): GuardOutcome {
    const reason = error ?? refusal(decision.reason as DenyReason);
    reason.requestId = requestId;
    return { decision, consent: undefined, requestId, error: reason };
  }

  function auditUnavailable(
    requirement: Requirement,
    requestId: string,
    consent?: VerifiedConsent,
  ): GuardOutcome {
    return refused(
      requestId,
      refuse(requirement, 'audit_unavailable', consent),
      refusal('audit_unavailable'),
    );
  }

  /**
   * Decides, records the decision, answers. Not an `async` function: a decision from a cached token
   * with a buffered audit is answered with an already settled promise, and only a store or a durable
   * write that answers with a promise is waited for. Nothing it throws escapes: an unexpected error
   * becomes `guard_unavailable`.
   */
  function check(requirement: Requirement, request: GuardRequest): Promise<GuardOutcome> {
    // Always our own: a client-chosen id could make two requests' decisions and outcomes unpairable.
    // The client's x-request-id is kept apart in the record as `clientRequestId`.
    const requestId = uuidv7(Date.now());
    try {
      subjectWarnings.seen(requirement, request);
      // An audit log that cannot be written never lets a request through (unless the purpose opted out).
      if (!trail.acceptsRecords() && !requirement.purpose.failOpen)
        return Promise.resolve(auditUnavailable(requirement, requestId));
      const verdict = evaluate(requirement, request);
      const outcome =
        verdict instanceof Promise
          ? verdict.then((settled) => conclude(requirement, request, requestId, settled))
          : conclude(requirement, request, requestId, verdict);
      if (!(outcome instanceof Promise)) return Promise.resolve(outcome);
      return outcome.catch((unexpected: unknown) =>
        guardUnavailable(requirement, request, requestId, unexpected),
      );
    } catch (unexpected) {
      return Promise.resolve(guardUnavailable(requirement, request, requestId, unexpected));
    }
  }

  /** Records the decision; waits only when the write does (a durable decision). */
  function conclude(
    requirement: Requirement,
    request: GuardRequest,
    requestId: string,
    verdict: Verdict,
  ): GuardOutcome | Promise<GuardOutcome> {
    let written: undefined | Promise<void>;
    try {
      written = trail.record(requirement, request, requestId, verdict.decision, verdict.consent);
    } catch (auditError) {
      return auditFailed(requirement, requestId, verdict, false, auditError);
    }
    if (written === undefined) return answer(requestId, verdict);
    // A durable write: waited for, but not for ever (a hung disk fails the request like a failed write).
    return withinTime(written, durableTimeoutMs, 'The audit sink').then(
      () => answer(requestId, verdict),
      (auditError: unknown) => auditFailed(requirement, requestId, verdict, true, auditError),
    );
  }

  /** The decision could not be recorded (`sealed`: it was, but its write failed). */
  function auditFailed(
    requirement: Requirement,
    requestId: string,
    verdict: Verdict,
    sealed: boolean,
    auditError: unknown,
  ): GuardOutcome {
    const { decision, consent } = verdict;
    if (!isPiplGuardError(auditError)) onError(auditError);
    if (!(requirement.purpose.failOpen && mayFailOpen(requirement, consent))) {
      if (sealed && decision.effect !== 'deny') trail.refusedAfterSealing(requestId, decision.purpose);
      return auditUnavailable(requirement, requestId, consent);
    }
    // Opted in explicitly: the decision stands unrecorded, and the hole is recorded on recovery.
    trail.sink.noteDropped(isPiplGuardError(auditError) ? 'refused' : 'write_failed');
    return answer(requestId, verdict);
  }

  function answer(requestId: string, { decision, consent, error }: Verdict): GuardOutcome {
    if (decision.effect === 'deny') return refused(requestId, decision, error);
    // A degraded handler gets no consent that failed: it must not read grants that do not apply.
    const usable = decision.reason === 'degraded_no_consent' ? undefined : consent;
    return { decision, consent: usable, requestId, error: undefined };
  }

  /**
   * Something failed that is not ours to answer (a hook that threw or answered nonsense, a bug): the
   * request is refused, and the refusal is recorded like every decision, if the log takes it.
   */
  function guardUnavailable(
    requirement: Requirement,
    request: GuardRequest,
    requestId: string,
    unexpected: unknown,
  ): GuardOutcome {
    onError(unexpected);
    const decision = refuse(requirement, 'guard_unavailable');
    try {
      // A refusal is never durable: this returns at once, and a failure is the log's to report.
      void trail.record(requirement, request, requestId, decision, undefined);
    } catch {
      // The request is refused all the same.
    }
    return refused(requestId, decision, refusal('guard_unavailable'));
  }

  /** Every adapter's requests pass here, so `pipl-guard:decision` is published in one place. */
  function observedCheck(requirement: Requirement, request: GuardRequest): Promise<GuardOutcome> {
    if (!observer.active()) return check(requirement, request);
    const startedAt = performance.now();
    return check(requirement, request).then((outcome) => {
      observer.decided(requirement, request, outcome, startedAt);
      return outcome;
    });
  }

  return {
    policy,
    requirement(purpose, route) {
      const requirement = compileRequirement(policy, purpose, route);
      subjectWarnings.defined(requirement, (route as { subject?: unknown }).subject !== undefined);
      return requirement;
    },
    check: observedCheck,
    recordOutcome: trail.outcome,
    withdraw: createWithdraw({ verifier, subjects, revocations, trail, onError }),
    subjects,
    recordSubjectEvent: trail.subjectEvent,
    auditAvailable: () => trail.acceptsRecords(),
    reportError: onError,
    lookupTimeoutMs,
    isAuthorizedAgent: answers.authorizedAgent,
    async ready() {
      await verifier?.ready();
      const notReady = () =>
        new PiplGuardError('revocation_unavailable', 'The withdrawal store did not answer at start-up');
      if (subjects || !revocations.ready) {
        // The look-up a request makes, so an answer a request could not read fails here too; it has
        // told onError why.
        try {
          await (subjects
            ? answers.lookup(READY_PROBE, READY_PROBE, READY_PROBE)
            : answers.isWithdrawn(READY_PROBE));
        } catch {
          throw notReady();
        }
      } else {
        try {
          await revocations.ready();
        } catch (error) {
          onError(error);
          throw notReady();
        }
      }
      if (!trail.sink.healthy) throw new PiplGuardError('audit_unavailable', 'The audit log is not writable');
      await trail.sink.flush();
    },
    close() {
      // Stop logging sink events once the sink's own close (last write, checkpoint) has been heard.
      return trail.close().finally(stopWatchingAudit);
    },
  };
}

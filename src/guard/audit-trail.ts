import { createPseudonymizer } from '../audit/pseudonymize.js';
import type { AuditEvent, DecisionEvent, OutcomeEvent } from '../audit/record.js';
import { type AuditSink, defaultEnforcer } from '../audit/sink.js';
import { subjectKeyId } from '../audit/subject-key-id.js';
import type { VerifiedConsent } from '../consent/claims.js';
import type { Decision } from '../decide/decide.js';
import type { Policy } from '../policy/define-policy.js';
import type { Requirement } from '../policy/requirement.js';
import { withheldPaths } from '../scope/withheld.js';
import type { SubjectEventInput } from '../subject/audit.js';
import { addAccountability, consentLinks, policyEvent } from './accountability.js';
import { type GuardOutcome, type GuardRequest, normalizeActor, type PiplGuardOptions } from './types.js';

/** A client's own request id is recorded only when it cannot inject anything into a log line. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id`, if it sent exactly one well-formed value. */
function clientRequestIdOf(request: GuardRequest): string | undefined {
  const supplied = request.header('x-request-id');
  return typeof supplied === 'string' && CLIENT_REQUEST_ID.test(supplied) ? supplied : undefined;
}

/** How many refusals may wait for the log to recover before they are only counted. */
const MAX_PENDING_REFUSALS = 10_000;

/**
 * Turns decisions into audit records and knows when they must be durable. Holds what the guard
 * owes the log: the 503 outcomes of requests whose sealed `allow` record could not be written.
 */
export function createAuditTrail(audit: PiplGuardOptions<string, string>['audit'], policy: Policy) {
  const sink: AuditSink = audit.sink;
  const pseudonymize =
    audit.subjectKey === false ? (id: string) => id : createPseudonymizer(audit.subjectKey);
  const durability = audit.durable ?? 'sensitive';
  const recordOutcomes = audit.outcomes ?? true;
  // Frozen, so its canonical form is computed once for every record.
  // With the key's fingerprint, a search with the wrong key is told so instead of finding nothing.
  const enforcer = Object.freeze({
    ...defaultEnforcer(audit.service, audit.instance),
    ...(audit.subjectKey === false ? {} : { subjectKeyId: subjectKeyId(audit.subjectKey) }),
  });
  const consentLink = consentLinks(pseudonymize);
  const refusedAfterSealing: OutcomeEvent[] = [];
  // Art. 69: the rules in force are logged once per writer start; every decision names their digest.
  let policyLogged = false;
  function logPolicy(): void {
    if (policyLogged) return;
    sink.append(policyEvent(policy, enforcer));
    policyLogged = true;
  }
  try {
    logPolicy();
  } catch {
    // The log is down at start-up: the first decision record retries, and fails with it.
  }

  function isDurable(requirement: Requirement, consent: VerifiedConsent | undefined): boolean {
    const declared = requirement.purpose.durability;
    if (declared !== undefined) return declared === 'durable';
    if (durability === 'never') return false;
    if (durability === 'always') return true;
    return requirement.sensitiveCategories.length > 0 || consent?.ageBand === 'under14';
  }

  function decisionEvent(
    requirement: Requirement,
    request: GuardRequest,
    requestId: string,
    decision: Decision,
    consent: VerifiedConsent | undefined,
  ): DecisionEvent {
    const subject = request.subjectId ?? consent?.subject;
    // Adapters hand over a clean actor; a direct caller of `check` may hand over a whole user object.
    const actor = normalizeActor(request.actor);
    const event: DecisionEvent = {
      type: 'decision',
      requestId,
      actor,
      subject: subject === undefined ? null : pseudonymize(subject),
      method: request.method,
      route: requirement.route ?? request.route ?? '(unknown)',
      purpose: decision.purpose,
      categories: decision.categories,
      operation: decision.operation,
      basis: decision.basis,
      consent: consentLink(decision, consent),
      decision: decision.effect,
      reason: decision.reason,
      status: decision.status,
      enforcer,
    };
    if (decision.cause) event.cause = decision.cause;
    const clientRequestId = clientRequestIdOf(request);
    if (clientRequestId !== undefined) event.clientRequestId = clientRequestId;
    addAccountability(event, requirement, decision, consent, policy.digest);
    if (requirement.rightsRequest !== undefined) {
      // Without a route subject the caller asked about themselves (`/me`).
      const target = subject ?? actor?.id;
      if (event.subject === null && target !== undefined) event.subject = pseudonymize(target);
      const by = actor !== null && actor.id === target ? 'subject' : 'agent';
      event.rightsRequest = { kind: requirement.rightsRequest, by };
      // The subject acting for themselves: their id in `actor` would undo the pseudonym in `subject`.
      if (by === 'subject' && event.subject !== null) event.actor = { ...actor, id: event.subject };
      // An agent (a guardian, a lawyer) is a person too: pseudonymised like the subject, still joinable.
      else if (by === 'agent' && actor) event.actor = { ...actor, id: pseudonymize(actor.id) };
    }
    return event;
  }

  /** Writes what earlier refusals owe the log, as soon as it takes records again. */
  function settleRefusals(): void {
    try {
      while (refusedAfterSealing.length > 0) {
        sink.append(refusedAfterSealing[0] as OutcomeEvent);
        refusedAfterSealing.shift();
      }
    } catch {
      // Still failing: they wait for the next healthy moment, or close() counts them as dropped.
    }
  }

  return {
    sink,
    pseudonymize,
    /** Can the log take records now? If it can, first writes what earlier refusals owe it. */
    acceptsRecords(): boolean {
      if (!sink.healthy) return false;
      if (refusedAfterSealing.length > 0) settleRefusals();
      return sink.healthy;
    },
    /**
     * Appends the decision. Resolves (or returns undefined) once it is as safe as the purpose
     * requires; throws or rejects when the log cannot take it.
     */
    record(
      requirement: Requirement,
      request: GuardRequest,
      requestId: string,
      decision: Decision,
      consent: VerifiedConsent | undefined,
    ): undefined | Promise<void> {
      const durable = decision.effect !== 'deny' && isDurable(requirement, consent);
      logPolicy();
      return sink.append(decisionEvent(requirement, request, requestId, decision, consent), durable);
    },
    /** The sealed `allow` of this request will land on retry: note that it was in fact refused (503). */
    refusedAfterSealing(requestId: string, purpose: string): void {
      if (refusedAfterSealing.length < MAX_PENDING_REFUSALS) {
        refusedAfterSealing.push({ type: 'outcome', requestId, purpose, status: 503, durationMs: 0 });
      } else sink.noteDropped('outcome_refused');
    },
    outcome(outcome: GuardOutcome, status: number, startedAt: number): void {
      if (!recordOutcomes || outcome.error) return;
      const event: OutcomeEvent = {
        type: 'outcome',
        requestId: outcome.requestId,
        purpose: outcome.decision.purpose,
        status,
        durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      };
      // Assigned, not spread: a spread in an object literal takes V8's slow path on Node 20.
      const withheld = withheldPaths.get(outcome);
      if (withheld) event.withheld = withheld;
      try {
        sink.append(event);
      } catch {
        sink.noteDropped('outcome_refused');
      }
    },
    /** A data subject's change (withdrawal, opt-out, deletion started): always durable. */
    async subjectEvent(event: SubjectEventInput): Promise<void> {
      const subject = event.subject === null ? null : pseudonymize(event.subject);
      // Subjects and their agents are people: their ids are pseudonymised like the subject's.
      const named = normalizeActor(event.actor);
      const actor = named === null ? null : { ...named, id: pseudonymize(named.id) };
      await sink.append({ ...event, actor, subject, enforcer } as AuditEvent, true);
    },
    close(): Promise<void> {
      settleRefusals();
      for (const _ of refusedAfterSealing) sink.noteDropped('outcome_refused');
      return sink.close();
    },
  };
}

export type AuditTrail = ReturnType<typeof createAuditTrail>;

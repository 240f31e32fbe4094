import { type DecisionMessage, decisionChannel } from '../diagnostics/channels.js';
import type { Requirement } from '../policy/requirement.js';
import type { GuardOutcome, GuardRequest } from './types.js';

/**
 * What the guard tells the outside world about each decision: the `pipl-guard:decision` channel.
 * With nobody subscribed this is one property read; the message (and the subject's HMAC) is only
 * built for a subscriber.
 */
export function createDecisionObserver(pseudonymize: (subject: string) => string) {
  function message(
    requirement: Requirement,
    request: GuardRequest,
    outcome: GuardOutcome,
    durationMs: number,
  ): DecisionMessage {
    const { decision } = outcome;
    // The same pseudonym as the audit record, so an operator can join the two; never the raw id.
    const subject = request.subjectId ?? outcome.consent?.subject;
    return {
      requestId: outcome.requestId,
      purpose: decision.purpose,
      categories: decision.categories,
      operation: decision.operation,
      basis: decision.basis,
      decision: decision.effect,
      reason: decision.reason,
      status: decision.status,
      durationMs,
      route: requirement.route ?? request.route ?? '(unknown)',
      method: request.method,
      subject: subject === undefined ? null : pseudonymize(subject),
    };
  }

  return function observeDecision(
    requirement: Requirement,
    request: GuardRequest,
    outcome: GuardOutcome,
    startedAt: number,
  ): void {
    if (!decisionChannel.hasSubscribers) return;
    decisionChannel.publish(message(requirement, request, outcome, performance.now() - startedAt));
  };
}

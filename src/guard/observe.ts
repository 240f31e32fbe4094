import { type DecisionMessage, decisionChannel } from '../diagnostics/channels.js';
import type { Requirement } from '../policy/requirement.js';
import { type DenialLogLevel, type PiplLogger, quietly } from './logger.js';
import type { GuardOutcome, GuardRequest } from './types.js';

/**
 * What the guard tells the outside world about each decision: the `pipl-guard:decision` channel
 * and, when configured, a log line per denial. With nobody subscribed and no logger this is two
 * checks; the message (and the subject's HMAC) is only built for a subscriber or a denial log.
 */
export function createDecisionObserver(
  pseudonymize: (subject: string) => string,
  log: { logger: PiplLogger | undefined; denials: DenialLogLevel } = { logger: undefined, denials: false },
) {
  const denialLevel = log.logger ? log.denials : false;

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

  return {
    /** Is anyone listening? When not, the guard skips even the clock read. */
    active(): boolean {
      return denialLevel !== false || decisionChannel.hasSubscribers;
    },
    decided(requirement: Requirement, request: GuardRequest, outcome: GuardOutcome, startedAt: number): void {
      const logDenial = denialLevel !== false && outcome.decision.effect === 'deny';
      if (!logDenial && !decisionChannel.hasSubscribers) return;
      const built = message(requirement, request, outcome, performance.now() - startedAt);
      // A broken logger must not turn a decision into a rejection: check() never rejects.
      if (logDenial)
        quietly(() => (log.logger as PiplLogger)[denialLevel]({ pipl: built }, 'pipl-guard: request denied'));
      if (decisionChannel.hasSubscribers) decisionChannel.publish(built);
    },
  };
}

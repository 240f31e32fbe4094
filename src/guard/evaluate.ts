import type { VerifiedConsent } from '../consent/claims.js';
import type { createTokenExtractor } from '../consent/extract.js';
import type { ConsentVerifier } from '../consent/verify.js';
import { type Decision, decide, refuse } from '../decide/decide.js';
import { isPiplGuardError, type PiplGuardError } from '../errors/errors.js';
import type { Requirement } from '../policy/requirement.js';
import type { createRightsCheck } from '../subject/rights-check.js';
import { isWithdrawnBy, type SubjectState, type SubjectStore } from '../subject/store.js';
import type { createAnswers } from './answers.js';
import type { createRefusals } from './refusal.js';
import type { GuardRequest, PiplGuardOptions } from './types.js';

/** What evaluating a request concludes, before it is recorded. */
export type Verdict = { decision: Decision; consent: VerifiedConsent | undefined; error?: PiplGuardError };

type DecisionContext = {
  subjectId: string | undefined;
  subjectDeclared: boolean;
  withdrawn: boolean;
  noticeId: string;
  now: number;
  actorRole: string | undefined;
  optedOut?: SubjectState['optedOut'];
};

/**
 * extract → verify → withdrawal → decide, for the guard's `check`. Token and lookup problems become
 * refusals; anything else throws (or rejects) for the guard to answer `guard_unavailable`.
 */
export function createEvaluator(deps: {
  /** The policy's notice id, which every decision names. */
  noticeId: string;
  verifier: ConsentVerifier | undefined;
  extractToken: ReturnType<typeof createTokenExtractor>;
  refusal: ReturnType<typeof createRefusals>;
  subjects: SubjectStore | undefined;
  answers: ReturnType<typeof createAnswers>;
  rightsCheck: ReturnType<typeof createRightsCheck>;
  publicInfoRefusals: PiplGuardOptions<string, string>['publicInfoRefusals'];
}) {
  const { noticeId, verifier, extractToken, refusal, subjects, answers, rightsCheck } = deps;
  const { lookup, isWithdrawn } = answers;

  /**
   * Answers without a promise in the common case (a token the verifier holds, withdrawal stores that
   * answer at once, as the in-memory ones do): an `async` function allocates its frame on every call
   * (about 1 KB here) and every `await` a promise and a microtask, on each request.
   */
  function evaluate(requirement: Requirement, request: GuardRequest): Verdict | Promise<Verdict> {
    // Art. 44-48: a rights request rests on the caller being the subject, never on consent.
    if (requirement.rightsRequest !== undefined) return rightsCheck(requirement, request);
    const context: DecisionContext = {
      subjectId: request.subjectId,
      subjectDeclared: request.subjectDeclared,
      withdrawn: false,
      noticeId,
      // The guard's clock (vitest fake timers move it): transfer mechanisms must be valid now.
      now: Date.now(),
      actorRole: request.actor?.type,
    };
    // Art. 13: a non-consent basis needs no token; one that is sent anyway is not looked at.
    if (requirement.purpose.basis !== 'consent') return evaluateWithoutConsent(requirement, request, context);
    let consent: VerifiedConsent | undefined;
    try {
      const token = extractToken(request.header);
      if (token !== undefined) {
        if (!verifier) throw refusal('keys_unavailable');
        consent = verifier.cached?.(token);
        if (consent === undefined) return decideLater(requirement, context, token);
        const pending = applyWithdrawals(context, consent, requirement.purpose.key);
        if (pending) return decideLater(requirement, context, token, consent, pending);
      }
    } catch (error) {
      return refusedVerdict(requirement, error, consent);
    }
    return { decision: decide(requirement, consent, context), consent };
  }

  /**
   * The promise path: verifies the token when the verifier did not hold it, then waits for the
   * withdrawal stores (`pending`, when a store already answered with a promise).
   */
  async function decideLater(
    requirement: Requirement,
    context: DecisionContext,
    token: string,
    held?: VerifiedConsent,
    pending?: Promise<void>,
  ): Promise<Verdict> {
    let consent = held;
    try {
      if (consent === undefined) {
        consent = await (verifier as ConsentVerifier).verify(token);
        pending = applyWithdrawals(context, consent, requirement.purpose.key);
      }
      await pending;
    } catch (error) {
      return refusedVerdict(requirement, error, consent);
    }
    return { decision: decide(requirement, consent, context), consent };
  }

  /**
   * Sets `withdrawn` (and the opt-outs) from the stores. Returns a promise only when a store answers
   * with one; throws, or rejects, with `revocation_unavailable` when a store fails.
   */
  function applyWithdrawals(
    context: DecisionContext,
    consent: VerifiedConsent,
    purpose: string,
  ): Promise<void> | undefined {
    if (subjects) {
      // One lookup answers everything: this consent, the subject's purpose and global withdrawals, opt-outs.
      const state = lookup(consent.subject, consent.id, purpose);
      if (state instanceof Promise) return state.then((answer) => applyState(context, consent, answer));
      applyState(context, consent, state);
      return undefined;
    }
    const withdrawn = isWithdrawn(consent.id);
    if (typeof withdrawn === 'boolean') {
      context.withdrawn = withdrawn;
      return undefined;
    }
    return withdrawn.then((answer) => {
      context.withdrawn = answer;
    });
  }

  function applyState(context: DecisionContext, consent: VerifiedConsent, state: SubjectState): void {
    context.withdrawn = isWithdrawnBy(state, consent.issuedAt);
    context.optedOut = state.optedOut;
  }

  /** A token, lookup or key problem as the refusal it stands for; anything else is not ours to answer. */
  function refusedVerdict(
    requirement: Requirement,
    error: unknown,
    consent: VerifiedConsent | undefined,
  ): Verdict {
    if (!isPiplGuardError(error)) throw error;
    const known = refusal(error.code, error.message);
    return { decision: refuse(requirement, known.code, consent), consent: undefined, error: known };
  }

  async function evaluateWithoutConsent(
    requirement: Requirement,
    request: GuardRequest,
    context: DecisionContext,
  ): Promise<Verdict> {
    const { purpose } = requirement;
    // Art. 24(2): opt-outs apply on every basis. Only looked up when one could change the decision.
    if (subjects && request.subjectId !== undefined && (purpose.personalization || purpose.marketing)) {
      try {
        context.optedOut = (await lookup(request.subjectId, undefined, purpose.key)).optedOut;
      } catch (error) {
        return refusedVerdict(requirement, error, undefined);
      }
    }
    const refusals = deps.publicInfoRefusals;
    // Art. 27: processing disclosed information stops where the subject explicitly refused it.
    if (purpose.basis === 'public_info' && refusals && request.subjectId !== undefined) {
      const refused = await answers.publicInfoRefused(refusals, request.subjectId, purpose.key);
      return {
        decision: decide(requirement, undefined, { ...context, publicInfoRefused: refused }),
        consent: undefined,
      };
    }
    return { decision: decide(requirement, undefined, context), consent: undefined };
  }

  return evaluate;
}

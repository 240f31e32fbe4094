import type { RevocationStore } from '../consent/revocation.js';
import type { PiplGuardError } from '../errors/errors.js';
import type { RightsRequest } from '../policy/requirement.js';
import { NOTHING_WITHDRAWN, type SubjectState, type SubjectStore } from '../subject/store.js';
import { answerWithin, isThenable, withinTime } from './deadline.js';
import type { PiplGuardOptions } from './types.js';

/**
 * How the guard asks the application's stores and hooks, and reads their answers: at once when they
 * answer at once (the in-memory stores), within `lookupTimeoutMs` when they answer with a promise,
 * and strictly. An answer that is no answer (`undefined`, ioredis's `0`/`1`, a half-filled state, a
 * database row where a boolean belongs) is a broken dependency, never a "no" or a "yes".
 */
export function createAnswers(options: {
  subjects: SubjectStore | undefined;
  revocations: RevocationStore;
  isAuthorizedAgent: PiplGuardOptions<string, string>['isAuthorizedAgent'];
  lookupTimeoutMs: number;
  onError: (error: unknown) => void;
  /** The refusal a failing withdrawal store becomes. */
  unavailable: () => PiplGuardError;
}) {
  const { subjects, revocations, lookupTimeoutMs, onError } = options;

  function revocationUnavailable(error: unknown): never {
    onError(error);
    throw options.unavailable();
  }

  const ask = <T>(answer: T | PromiseLike<T>, hook: string) => answerWithin(answer, lookupTimeoutMs, hook);

  return {
    /** The subject store's answer, without a promise when the store gives none; failures become `revocation_unavailable`. */
    lookup(
      subject: string | undefined,
      consentId: string | undefined,
      purpose: string,
    ): SubjectState | Promise<SubjectState> {
      if (!subjects) return NOTHING_WITHDRAWN;
      let state: unknown;
      try {
        state = subjects.lookup({ subject, consentId, purpose });
      } catch (error) {
        return revocationUnavailable(error);
      }
      if (isSubjectState(state)) return state;
      if (!isThenable(state))
        return revocationUnavailable(notAnAnswer("The store's lookup", state, 'a subject state'));
      return withinTime(state, lookupTimeoutMs, "The store's lookup").then((answer: unknown) => {
        if (isSubjectState(answer)) return answer;
        return revocationUnavailable(notAnAnswer("The store's lookup", answer, 'a subject state'));
      }, revocationUnavailable);
    },

    /** Answers without a promise when the store does (the in-memory one always does). */
    isWithdrawn(consentId: string): boolean | Promise<boolean> {
      let status: unknown;
      try {
        status = revocations.isRevoked(consentId);
      } catch (error) {
        return revocationUnavailable(error);
      }
      if (typeof status === 'boolean') return status;
      if (!isThenable(status))
        return revocationUnavailable(notAnAnswer("The store's isRevoked", status, 'a boolean'));
      return withinTime(status, lookupTimeoutMs, "The store's isRevoked").then((answer: unknown) => {
        if (typeof answer === 'boolean') return answer;
        return revocationUnavailable(notAnAnswer("The store's isRevoked", answer, 'a boolean'));
      }, revocationUnavailable);
    },

    /** Art. 27: has the subject refused processing of their disclosed information for this purpose? */
    async publicInfoRefused(
      refusals: NonNullable<PiplGuardOptions<string, string>['publicInfoRefusals']>,
      subject: string,
      purpose: string,
    ): Promise<boolean> {
      const refused: unknown = await ask(refusals(subject, purpose), 'publicInfoRefusals');
      // Read as "not refused", it would process the information of a subject who refused.
      if (typeof refused !== 'boolean') throw notAnAnswer('publicInfoRefusals', refused, 'a boolean');
      return refused;
    },

    /**
     * The application's `isAuthorizedAgent`, read strictly: an answer that is not a boolean (a row, a
     * `{ rows: [] }` whose length was forgotten, SISMEMBER's 1) is a broken hook, not a yes.
     */
    async authorizedAgent(
      actor: { id: string; type?: string },
      subject: string,
      right: RightsRequest,
    ): Promise<boolean> {
      if (!options.isAuthorizedAgent) return false;
      const answer: unknown = await ask(
        options.isAuthorizedAgent(actor, subject, right),
        'isAuthorizedAgent',
      );
      if (typeof answer !== 'boolean') throw notAnAnswer('isAuthorizedAgent', answer, 'a boolean');
      return answer;
    },
  };
}

/**
 * A store's answer the guard cannot read (`undefined`, ioredis's `0`/`1`, a half-filled state) is no
 * answer: read as "not withdrawn" it would let a withdrawn consent through (Art. 15), read as "not
 * refused" it would process a refused subject's disclosed information (Art. 27). The guard fails
 * closed on it (503) and `onError` gets this error.
 */
function notAnAnswer(asked: string, answer: unknown, expected: string): TypeError {
  const shown = answer === null ? 'null' : typeof answer === 'object' ? 'an object' : `${typeof answer}`;
  return new TypeError(`${asked} answered ${shown}, not ${expected}`);
}

/** Does `state` hold everything the guard reads from a subject store's answer, with the right types? */
function isSubjectState(state: unknown): state is SubjectState {
  if (typeof state !== 'object' || state === null) return false;
  const { consentWithdrawn, allWithdrawnAt, purposeWithdrawnAt, optedOut } = state as SubjectState;
  return (
    typeof consentWithdrawn === 'boolean' &&
    (allWithdrawnAt === undefined || typeof allWithdrawnAt === 'number') &&
    (purposeWithdrawnAt === undefined || typeof purposeWithdrawnAt === 'number') &&
    typeof optedOut === 'object' &&
    optedOut !== null &&
    typeof optedOut.personalization === 'boolean' &&
    typeof optedOut.marketing === 'boolean'
  );
}

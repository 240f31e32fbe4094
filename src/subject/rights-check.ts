import { type Decision, refuse } from '../decide/decide.js';
import { PiplGuardError } from '../errors/errors.js';
import { type GuardRequest, normalizeActor, type PiplGuardOptions } from '../guard/types.js';
import type { Requirement, RightsRequest } from '../policy/requirement.js';

type Verdict = { decision: Decision; consent: undefined; error?: PiplGuardError };

/**
 * The check a rights-request route (Art. 44-48) runs instead of consent: the caller must be the data
 * subject, or an agent the application authorises (a guardian, Art. 31, or a representative; Art. 50
 * lets the handler verify who asks). Withdrawal and opt-outs are never consulted: exercising a right
 * must not depend on the consent the subject withdrew.
 */
export function createRightsCheck(isAgent: PiplGuardOptions<string, string>['isAuthorizedAgent']) {
  return async function rightsCheck(requirement: Requirement, request: GuardRequest): Promise<Verdict> {
    const right = requirement.rightsRequest as RightsRequest;
    const subject = request.subjectId;
    if (request.subjectDeclared && subject === undefined) {
      return { decision: refuse(requirement, 'subject_unresolved'), consent: undefined };
    }
    // An adapter's actor is already in audit form; a direct caller of `check` may hand over a user object.
    const actor = normalizeActor(request.actor);
    // Without a route subject the caller asks about themselves (`/me` routes).
    const target = subject ?? actor?.id;
    if (actor !== null && target !== undefined) {
      if (actor.id === target || (isAgent !== undefined && (await isAgent(actor, target, right)))) {
        return { decision: refuse(requirement, 'rights_request'), consent: undefined };
      }
    }
    return {
      decision: refuse(requirement, 'rights_requester_not_subject'),
      consent: undefined,
      error: new PiplGuardError('rights_requester_not_subject'),
    };
  };
}

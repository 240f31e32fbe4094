import type { Requirement } from '../policy/requirement.js';
import type { GuardRequest } from './types.js';

/** `code` of the warning emitted for a route that takes a data subject from its path but names none. */
export const SUBJECT_WARNING_CODE = 'PIPL_SUBJECT_NOT_BOUND';

/** A path parameter in an Express 5 or @koa/router pattern: `:id`, `*rest`. */
const PATH_PARAMETER = /[:*]/;

/**
 * Warns once per route when a consent purpose guards a route whose pattern has a parameter
 * (`/users/:id`) but the route declares no `subject`. The token's own subject is then taken as the
 * data subject, so a client holding valid consent for itself could read `/users/<someone else>`:
 * Art. 14 consent binds one person's data, not any id the client puts in the path. A warning, not an
 * error, because some parameters are not subjects (`/orders/:orderId` on a `/me`-style route).
 *
 * Emitted with `process.emitWarning` (type `PiplGuardWarning`, code {@link SUBJECT_WARNING_CODE}):
 * printed on stderr by default, observable with `process.on('warning')`.
 */
export function createSubjectWarnings() {
  const warned = new WeakSet<Requirement>();

  function warn(requirement: Requirement, route: string): void {
    warned.add(requirement);
    process.emitWarning(
      `pipl-guard: route ${route} (purpose "${requirement.purpose.key}") has a path parameter but no \`subject\` resolver, so the consent token's own subject is taken as the data subject. Add \`subject: (req) => req.params.<id>\` if the parameter names the data subject.`,
      { type: 'PiplGuardWarning', code: SUBJECT_WARNING_CODE },
    );
  }

  return {
    /** At route definition: only an explicit `route` label is known then. */
    defined(requirement: Requirement, subjectDeclared: boolean): void {
      if (subjectDeclared || requirement.purpose.basis !== 'consent') return;
      if (requirement.route !== undefined && PATH_PARAMETER.test(requirement.route)) {
        warn(requirement, requirement.route);
      }
    },
    /** At a route's first request, when the framework reports its pattern. Cheap after that. */
    seen(requirement: Requirement, request: GuardRequest): void {
      if (request.subjectDeclared || warned.has(requirement) || requirement.purpose.basis !== 'consent')
        return;
      const route = requirement.route ?? request.route;
      if (route !== undefined && PATH_PARAMETER.test(route)) warn(requirement, route);
    },
  };
}

import type { HeaderReader } from '../consent/extract.js';
import {
  type ActorResolver,
  type GuardOutcome,
  type GuardRequest,
  normalizeActor,
  type PiplContext,
} from '../guard/index.js';

/** Finds the data subject in a framework request; a list (e.g. a repeated path segment) counts as none. */
export type SubjectResolver<R> = (request: R) => string | readonly string[] | undefined;

/**
 * The guard's view of one request, built the same way by every adapter. A resolver that throws
 * resolves nothing: with a declared subject resolver, that is a refusal (`subject_unresolved`).
 */
export function describeRequest<R>(
  request: R,
  http: { method: string; route: string | undefined; header: HeaderReader },
  resolve: { subject: SubjectResolver<R> | undefined; actor: ActorResolver<R> | undefined },
): GuardRequest {
  const subject = attempt(resolve.subject, request);
  return {
    method: http.method,
    route: http.route,
    header: http.header,
    subjectId: typeof subject === 'string' && subject !== '' ? subject : undefined,
    subjectDeclared: resolve.subject !== undefined,
    actor: normalizeActor(attempt(resolve.actor, request)),
  };
}

/** What the handler reads after a let-through decision. */
export function handlerContext(outcome: GuardOutcome): PiplContext {
  return {
    decision: outcome.decision,
    consent: outcome.consent,
    requestId: outcome.requestId,
    degraded: outcome.decision.effect === 'degrade',
  };
}

function attempt<R, T>(resolve: ((request: R) => T) | undefined, request: R): T | undefined {
  if (!resolve) return undefined;
  try {
    return resolve(request);
  } catch {
    return undefined;
  }
}

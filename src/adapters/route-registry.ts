import type { Requirement } from '../policy/requirement.js';

/** What a guard middleware enforces, recorded when the route is defined (for `pipl-guard/openapi`). */
export interface GuardedMiddleware {
  readonly requirement: Requirement;
  /** The route resolves the data subject from the request (so `subject_*` refusals are possible). */
  readonly subject: boolean;
}

// Keyed by the middleware function itself: nothing is stored on the framework's objects, and a
// middleware nobody routes to can be collected.
const registry = new WeakMap<object, GuardedMiddleware>();

/** Remembers what a guard middleware enforces and returns the middleware unchanged. */
export function rememberGuard<M extends object>(guarded: GuardedMiddleware, middleware: M): M {
  registry.set(middleware, guarded);
  return middleware;
}

/** What a middleware enforces, if it is a pipl-guard middleware. */
export function guardedBy(middleware: unknown): GuardedMiddleware | undefined {
  return typeof middleware === 'function' ? registry.get(middleware) : undefined;
}

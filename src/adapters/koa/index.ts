import type { PiplContext } from '../../guard/index.js';

export { type KoaGuardOptions, type KoaRouteRequirement, koaGuard, sendProblem } from './guard.js';
export { piplProblems } from './problem-middleware.js';
export { subjectRoutes } from './subject-routes.js';

declare module 'koa' {
  interface DefaultState {
    /** Set by the pipl-guard middleware before a guarded handler runs. */
    pipl?: PiplContext;
  }
}

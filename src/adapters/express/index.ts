import type { PiplContext } from '../../guard/index.js';

export {
  type ExpressGuardOptions,
  type ExpressRouteRequirement,
  expressGuard,
  sendProblem,
} from './guard.js';
export { piplProblemHandler } from './problem-handler.js';
export { subjectRoutes } from './subject-routes.js';

declare global {
  namespace Express {
    interface Locals {
      /** Set by the pipl-guard middleware before a guarded handler runs. */
      pipl?: PiplContext;
    }
  }
}

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type ExpressGuardOptions,
  type ExpressRouteRequirement,
  expressGuard,
  sendProblem,
} from '../adapters/express/guard.js';
import { isPiplGuardError } from '../errors/errors.js';
import type { PiplGuard } from '../guard/types.js';
import { runMarked } from './marker.js';
import type { HttpMethod, MethodEntry } from './registry.js';
import { mountableMethods, type ResolvedMethod } from './resolve.js';

/** An Express app or `express.Router()`. */
export type ExpressRouterLike = {
  [M in HttpMethod]: (path: string, ...handlers: RequestHandler[]) => unknown;
};

/**
 * Runs the `expressGuard` middleware with a decision marker for `entry`: the decorated method runs
 * only when this guard allowed this request. The marker dies with the response.
 */
export function markedExpressGuard(guard: RequestHandler, entry: MethodEntry): RequestHandler {
  return function piplMethodGuard(req: Request, res: Response, next: NextFunction) {
    runMarked(entry, (marker) => {
      res.once('close', () => {
        marker.state = 'spent';
      });
      guard(req, res, (error?: unknown) => {
        if (error !== undefined) return next(error);
        marker.state = 'allowed';
        next();
      });
    });
  };
}

/** The guard middleware for one resolved method, built by `expressGuard` (one decision path). */
export function expressMethodGuard<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  method: ResolvedMethod,
  options: ExpressGuardOptions = {},
): RequestHandler {
  const guard = expressGuard(pipl, options);
  const route = method.route as ExpressRouteRequirement<C>;
  return markedExpressGuard(guard(method.purpose as P, route), method.entry);
}

function handlerFor(instance: object, name: string): RequestHandler {
  const method = (instance as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
  return async function piplControllerMethod(req: Request, res: Response, next: NextFunction) {
    try {
      const result = await method.call(instance, req, res, next);
      if (result !== undefined && !res.headersSent) res.json(result);
    } catch (error) {
      if (isPiplGuardError(error) && !res.headersSent) return sendProblem(res, error, error.requestId);
      next(error);
    }
  };
}

/**
 * Mounts every `@Route` method of a decorated class instance on an Express router, each behind
 * the same guard `expressGuard` builds. The whole class is checked first: a mistake throws
 * `PiplConfigError` naming class and method, and nothing is mounted. A value the method returns
 * is sent as JSON.
 *
 * @example
 * ```ts
 * const router = express.Router();
 * mountExpressController(router, pipl, new RecordsController());
 * app.use(router);
 * ```
 */
export function mountExpressController<P extends string, C extends string>(
  router: ExpressRouterLike,
  pipl: PiplGuard<P, C>,
  instance: object,
  options: ExpressGuardOptions = {},
): void {
  for (const { method, http } of mountableMethods(pipl.policy, instance)) {
    const handler = handlerFor(instance, method.name);
    if (method.route === undefined) router[http.method](http.path, handler);
    else router[http.method](http.path, expressMethodGuard(pipl, method, options), handler);
  }
}

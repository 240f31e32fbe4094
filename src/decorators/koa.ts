import type { Context, Middleware, Next } from 'koa';
import {
  type KoaGuardOptions,
  type KoaRouteRequirement,
  koaGuard,
  sendProblem,
} from '../adapters/koa/guard.js';
import { isPiplGuardError } from '../errors/errors.js';
import type { PiplGuard } from '../guard/types.js';
import { runMarked } from './marker.js';
import type { HttpMethod, MethodEntry } from './registry.js';
import { mountableMethods, type ResolvedMethod } from './resolve.js';

/** A `@koa/router` Router. */
export type KoaRouterLike = { [M in HttpMethod]: (path: string, ...middleware: Middleware[]) => unknown };

/** Runs the `koaGuard` middleware with a decision marker for `entry` (see `markedExpressGuard`). */
export function markedKoaGuard(guard: Middleware, entry: MethodEntry): Middleware {
  return function piplMethodGuard(ctx: Context, next: Next) {
    return runMarked(entry, (marker) => {
      ctx.res.once('close', () => {
        marker.state = 'spent';
      });
      return guard(ctx, () => {
        marker.state = 'allowed';
        return next();
      });
    });
  };
}

/** The guard middleware for one resolved method, built by `koaGuard` (one decision path). */
export function koaMethodGuard<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  method: ResolvedMethod,
  options: KoaGuardOptions = {},
): Middleware {
  const guard = koaGuard(pipl, options);
  const route = method.route as KoaRouteRequirement<C>;
  return markedKoaGuard(guard(method.purpose as P, route), method.entry);
}

function handlerFor(instance: object, name: string): Middleware {
  const method = (instance as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
  return async function piplControllerMethod(ctx: Context, next: Next) {
    try {
      const result = await method.call(instance, ctx, next);
      if (result !== undefined) ctx.body = result;
    } catch (error) {
      if (!isPiplGuardError(error)) throw error;
      sendProblem(ctx, error, error.requestId);
    }
  };
}

/**
 * Mounts every `@Route` method of a decorated class instance on a `@koa/router` Router, each
 * behind the same guard `koaGuard` builds. Checked first, as `mountExpressController` is. A value
 * the method returns becomes `ctx.body`.
 *
 * @example
 * ```ts
 * const router = new Router();
 * mountKoaController(router, pipl, new RecordsController());
 * app.use(router.routes());
 * ```
 */
export function mountKoaController<P extends string, C extends string>(
  router: KoaRouterLike,
  pipl: PiplGuard<P, C>,
  instance: object,
  options: KoaGuardOptions = {},
): void {
  for (const { method, http } of mountableMethods(pipl.policy, instance)) {
    const handler = handlerFor(instance, method.name);
    if (method.route === undefined) router[http.method](http.path, handler);
    else router[http.method](http.path, koaMethodGuard(pipl, method, options), handler);
  }
}

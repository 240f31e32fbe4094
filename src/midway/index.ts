import { Catch, Guard, type IGuard } from '@midwayjs/core';
import type { Context, Middleware } from 'koa';
import { koaGuard, sendProblem } from '../adapters/koa/guard.js';
import { enterMarked, guardMissing, runSlot } from '../decorators/marker.js';
import { type AnyClass, decoratedMethods, type MethodEntry } from '../decorators/registry.js';
import { resolveMethod } from '../decorators/resolve.js';
import { PiplGuardError } from '../errors/errors.js';
import type { ActorResolver, PiplGuard } from '../guard/types.js';

export { createDecorators, PiplExempt } from '../decorators/index.js';

export interface MidwayGuardOptions {
  /**
   * Methods with neither `RequiresConsent` nor `PiplExempt`: `refuse` (default, fail closed) answers
   * 503 `guard_unavailable`; `allow` lets them through unaudited.
   */
  undeclared?: 'refuse' | 'allow';
  /** Who makes the request, for the audit record. */
  actor?: ActorResolver<Context>;
}

/**
 * A Midway 4 guard class (`@midwayjs/koa`) for the decorators of `createDecorators`: it runs the
 * `koaGuard` middleware for the method (one decision path) and throws denials as `PiplGuardError`,
 * which `PiplMidwayFilter` renders as problem+json. Register both: `app.useGuard(guard)` and
 * `app.useFilter(PiplMidwayFilter)` in your configuration's `onReady`.
 *
 * @example
 * ```ts
 * const PiplGuardClass = piplMidwayGuard(pipl);
 * // in onReady(): this.app.useGuard(PiplGuardClass); this.app.useFilter(PiplMidwayFilter);
 * ```
 */
export function piplMidwayGuard<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: MidwayGuardOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: Midway's context type (IMidwayKoaContext) extends Koa's
): new () => IGuard<any> {
  const guard = koaGuard(pipl, { errors: 'throw', ...(options.actor ? { actor: options.actor } : {}) });
  const middleware = new WeakMap<MethodEntry, Middleware>();

  function middlewareFor(target: AnyClass, entry: MethodEntry): Middleware {
    let built = middleware.get(entry);
    if (!built) {
      const method = resolveMethod(pipl.policy, target, entry);
      built = guard(method.purpose as P, method.route as never);
      middleware.set(entry, built);
    }
    return built;
  }

  class PiplMidwayGuard implements IGuard<Context> {
    canActivate(
      ctx: Context,
      supplier: new (...args: never[]) => unknown,
      methodName: string,
    ): Promise<boolean> | boolean {
      const where = `${supplier.name}.${methodName}()`;
      const entry = decoratedMethods(supplier).get(methodName);
      if (!entry) {
        if (options.undeclared === 'allow') return true;
        throw guardMissing(`${where}, which declares no RequiresConsent,`);
      }
      if (entry.exempt && entry.requirements.length === 0) return true;
      const run = middlewareFor(supplier, entry);
      // Before any await: the marker must reach the method through this request's async context.
      const marker = enterMarked(entry);
      ctx.res.once('close', () => {
        marker.state = 'spent';
      });
      return Promise.resolve(
        run(ctx as never, async () => {
          marker.state = 'allowed';
        }),
      ).then(() => marker.state === 'allowed');
    }
  }
  Guard()(PiplMidwayGuard);
  return PiplMidwayGuard;
}

/**
 * Midway middleware that opens the request's decision slot; the guard fills it for the method it
 * allowed. Register it with `app.useMiddleware(piplMidwayMiddleware)`: without it every decorated
 * method answers 503 `guard_unavailable` (Midway runs guards in a context the method does not inherit).
 *
 * @example
 * ```ts
 * this.app.useMiddleware(piplMidwayMiddleware);
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: Midway's context type extends Koa's
export function piplMidwayMiddleware(_ctx: any, next: () => Promise<unknown>): Promise<unknown> {
  return runSlot(next);
}

/**
 * Midway exception filter: renders `PiplGuardError` as RFC 9457 problem+json, as `koaGuard` does.
 *
 * @example
 * ```ts
 * this.app.useFilter(PiplMidwayFilter);
 * ```
 */
export class PiplMidwayFilter {
  // biome-ignore lint/suspicious/noExplicitAny: Midway's context type extends Koa's
  catch(error: Error, ctx: any): unknown {
    if (!(error instanceof PiplGuardError)) throw error;
    sendProblem(ctx as Context, error, error.requestId);
    return ctx.body;
  }
}
Catch(PiplGuardError)(PiplMidwayFilter);

import type { Context, Middleware, Next } from 'koa';
import type { PiplGuardError } from '../../errors/errors.js';
import type { ActorResolver, PiplGuard } from '../../guard/index.js';
import type { RouteRequirement } from '../../policy/requirement.js';
import type { BuiltinCategory } from '../../taxonomy/taxonomy.js';
import { trackOutcome } from '../outcome.js';
import { describeRequest, handlerContext, type SubjectResolver } from '../request-view.js';
import { scopeResponse } from '../response-scope.js';

/** A route requirement plus how to find the data subject in a Koa context. */
export interface KoaRouteRequirement<C extends string = string> extends RouteRequirement<C> {
  /**
   * The data subject this request is about, e.g. `(ctx) => ctx.params.userId`. When set, the consent
   * token's `sub` must equal it. When absent, the token's own subject is the data subject.
   */
  subject?: SubjectResolver<Context>;
}

export interface KoaGuardOptions {
  /** Who makes the request, for the audit record (e.g. `ctx => ctx.state.user?.id`). */
  actor?: ActorResolver<Context>;
  /**
   * `respond` (default): denials are answered here as RFC 9457 problem+json.
   * `throw`: denials are thrown as `PiplGuardError` (with `status`, `expose`, `headers`) for your own
   * error-handling middleware or `app.on('error')`.
   */
  errors?: 'respond' | 'throw';
}

/**
 * Binds a guard to Koa 3. Returns a factory of route-level middleware.
 *
 * @example
 * ```ts
 * const guard = koaGuard(pipl);
 * router.get('/users/:id/orders',
 *   guard('order.fulfilment', { operation: 'use', subject: (ctx) => ctx.params.id }),
 *   (ctx) => { ctx.body = { decision: ctx.state.pipl?.decision.reason }; });
 * ```
 */
export function koaGuard<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: KoaGuardOptions = {},
) {
  const throwErrors = options.errors === 'throw';

  return function guard(purpose: P, route: KoaRouteRequirement<BuiltinCategory | C>): Middleware {
    const requirement = pipl.requirement(purpose, route);

    return async function piplGuard(ctx: Context, next: Next) {
      const startedAt = performance.now();
      const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
      const http = {
        method: ctx.method,
        route: typeof matched === 'string' ? matched : undefined,
        header: (name: string) => ctx.req.headers[name],
      };
      const view = describeRequest(ctx, http, { subject: route.subject, actor: options.actor });
      const outcome = await pipl.check(requirement, view);
      if (outcome.error) {
        if (throwErrors) throw outcome.error;
        return sendProblem(ctx, outcome.error, outcome.requestId);
      }
      ctx.state.pipl = handlerContext(outcome);
      if (!trackOutcome(pipl as PiplGuard<string, string>, outcome, ctx.req, ctx.res, startedAt)) return;
      await next();
      // Art. 6: the body leaves with only the fields of categories the decision covered.
      if (requirement.response) {
        const scoped = scopeResponse(requirement, outcome, ctx.body);
        if ('error' in scoped) sendProblem(ctx, scoped.error, outcome.requestId);
        else ctx.body = scoped.body;
      }
    };
  };
}

/** Answers with an RFC 9457 problem+json body. Exported for custom error middleware. */
export function sendProblem(ctx: Context, error: PiplGuardError, requestId?: string): void {
  ctx.status = error.status;
  ctx.set(error.headers);
  ctx.set('cache-control', 'no-store');
  ctx.type = 'application/problem+json';
  ctx.body = JSON.stringify(error.toProblem(requestId));
}

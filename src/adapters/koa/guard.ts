import type { Context, Middleware, Next } from 'koa';
import { PiplGuardError } from '../../errors/errors.js';
import type { ActorResolver, PiplGuard } from '../../guard/index.js';
import type { RouteRequirement } from '../../policy/requirement.js';
import type { BuiltinCategory } from '../../taxonomy/taxonomy.js';
import { alreadyAnswered, failedAfterAllow, trackOutcome } from '../outcome.js';
import {
  describeRequest,
  handlerContext,
  nodeHeaderReader,
  routeLabeller,
  type SubjectResolver,
} from '../request-view.js';
import { scopeResponse } from '../response-scope.js';
import { rememberGuard } from '../route-registry.js';

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
  /**
   * A pattern prefixed to the route pattern in audit records, for apps mounted under a prefix the
   * router does not know (e.g. with `koa-mount`). @koa/router already includes its own prefixes.
   */
  mountPath?: string;
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
  const label = routeLabeller(options.mountPath);

  return function guard(purpose: P, route: KoaRouteRequirement<BuiltinCategory | C>): Middleware {
    const requirement = pipl.requirement(purpose, route);

    const guarded = { requirement, subject: route.subject !== undefined };
    return rememberGuard(guarded, async function piplGuard(ctx: Context, next: Next) {
      const startedAt = performance.now();
      const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
      const http = {
        method: ctx.method,
        // @koa/router's matched layer path: the pattern, prefixes included, never the raw URL.
        route: label(typeof matched === 'string' ? matched : undefined),
        header: nodeHeaderReader(ctx.req),
      };
      const view = describeRequest(ctx, http, { subject: route.subject, actor: options.actor });
      const outcome = await pipl.check(requirement, view);
      if (outcome.error) {
        // Another middleware (e.g. a timeout) answered while the guard decided: the decision is
        // audited; a throw now would reach no one (or reject a promise nobody awaits any more).
        if (alreadyAnswered(ctx.res)) return;
        if (throwErrors) throw outcome.error;
        return sendProblem(ctx, outcome.error, outcome.requestId);
      }
      let tracked = false;
      try {
        ctx.state.pipl = handlerContext(outcome);
        tracked = true;
        if (!trackOutcome(pipl as PiplGuard<string, string>, outcome, ctx.req, ctx.res, startedAt)) return;
      } catch (unexpected) {
        // Our own work failed before the handler (e.g. another middleware froze `ctx.state`): refused,
        // told, and the `allow` on record is followed by the 503 the client got. Never Koa's 500.
        failedAfterAllow(pipl as PiplGuard<string, string>, outcome, tracked, startedAt, unexpected);
        if (alreadyAnswered(ctx.res)) return;
        const error = new PiplGuardError('guard_unavailable', undefined, { 'retry-after': '5' });
        if (throwErrors) throw error;
        return sendProblem(ctx, error, outcome.requestId);
      }
      await next();
      // Art. 6: the body leaves with only the fields of categories the decision covered.
      if (requirement.response) {
        const scoped = scopeResponse(requirement, outcome, ctx.body);
        if ('error' in scoped) sendProblem(ctx, scoped.error, outcome.requestId);
        else ctx.body = scoped.body;
      }
    });
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

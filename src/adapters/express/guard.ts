import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PiplGuardError } from '../../errors/errors.js';
import type { ActorResolver, GuardOutcome, PiplGuard } from '../../guard/index.js';
import type { Requirement, RouteRequirement } from '../../policy/requirement.js';
import type { BuiltinCategory } from '../../taxonomy/taxonomy.js';
import { trackOutcome } from '../outcome.js';
import { describeRequest, handlerContext, type SubjectResolver } from '../request-view.js';
import { scopeResponse } from '../response-scope.js';

/** A route requirement plus how to find the data subject in an Express request. */
export interface ExpressRouteRequirement<C extends string = string> extends RouteRequirement<C> {
  /**
   * The data subject this request is about, e.g. `(req) => req.params.userId`. When set, the consent
   * token's `sub` must equal it. When absent, the token's own subject is the data subject (`/me` routes).
   */
  subject?: SubjectResolver<Request>;
}

export interface ExpressGuardOptions {
  /** Who makes the request, for the audit record (e.g. `req => req.user?.id`). */
  actor?: ActorResolver<Request>;
  /**
   * `respond` (default): denials are answered here as RFC 9457 problem+json.
   * `next`: denials go to `next(err)` as a `PiplGuardError` (with `status`, `expose`, `headers`) for
   * your own error middleware.
   */
  errors?: 'respond' | 'next';
}

/**
 * Binds a guard to Express 5. Returns a factory of route-level middleware.
 *
 * @example
 * ```ts
 * const guard = expressGuard(pipl);
 * app.get('/users/:id/orders',
 *   guard('order.fulfilment', { operation: 'use', subject: (req) => req.params.id }),
 *   (req, res) => res.json({ decision: res.locals.pipl.decision.reason }));
 * ```
 */
export function expressGuard<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: ExpressGuardOptions = {},
) {
  const passErrors = options.errors === 'next';

  return function guard(purpose: P, route: ExpressRouteRequirement<BuiltinCategory | C>): RequestHandler {
    const requirement = pipl.requirement(purpose, route);

    return function piplGuard(req: Request, res: Response, next: NextFunction) {
      const startedAt = performance.now();
      const http = {
        method: req.method,
        route: req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined,
        header: (name: string) => req.headers[name],
      };
      const view = describeRequest(req, http, { subject: route.subject, actor: options.actor });
      pipl.check(requirement, view).then((outcome) => {
        if (outcome.error) {
          if (passErrors) return next(outcome.error);
          return sendProblem(res, outcome.error, outcome.requestId);
        }
        res.locals.pipl = handlerContext(outcome);
        if (requirement.response) scopeJson(res, requirement, outcome);
        if (trackOutcome(pipl as PiplGuard<string, string>, outcome, req, res, startedAt)) next();
      }, next);
    };
  };
}

/** Writes an RFC 9457 problem+json response. Exported for custom error middleware. */
export function sendProblem(res: Response, error: PiplGuardError, requestId?: string): void {
  const body = JSON.stringify(error.toProblem(requestId));
  res.status(error.status);
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-type', 'application/problem+json; charset=utf-8');
  res.end(body);
}

/** Art. 6: `res.json` (and `res.send(object)`) send only fields of categories the decision covered. */
function scopeJson(res: Response, requirement: Requirement, outcome: GuardOutcome): void {
  const json = res.json.bind(res);
  res.json = function scopedJson(body?: unknown) {
    const scoped = scopeResponse(requirement, outcome, body);
    if ('error' in scoped) {
      sendProblem(res, scoped.error, outcome.requestId);
      return res;
    }
    return json(scoped.body);
  };
}

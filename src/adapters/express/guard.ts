import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { PiplGuardError } from '../../errors/errors.js';
import type { ActorResolver, GuardOutcome, PiplGuard } from '../../guard/index.js';
import type { Requirement, RouteRequirement } from '../../policy/requirement.js';
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
  /**
   * The pattern the router using these guards is mounted under (`app.use('/tenants/:tenant', router)`
   * → `'/tenants/:tenant'`), prefixed to the route pattern in audit records. Express does not report
   * the mount pattern, only the raw matched URL (`req.baseUrl`), which is never logged.
   */
  mountPath?: string;
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
  const label = routeLabeller(options.mountPath);

  return function guard(purpose: P, route: ExpressRouteRequirement<BuiltinCategory | C>): RequestHandler {
    const requirement = pipl.requirement(purpose, route);

    const guarded = { requirement, subject: route.subject !== undefined };
    return rememberGuard(guarded, function piplGuard(req: Request, res: Response, next: NextFunction) {
      const startedAt = performance.now();
      const http = {
        method: req.method,
        // The route's own pattern only: `req.baseUrl` is the raw URL a mounted router matched.
        route: label(req.route ? String(req.route.path) : undefined),
        header: nodeHeaderReader(req),
      };
      const view = describeRequest(req, http, { subject: route.subject, actor: options.actor });
      pipl
        .check(requirement, view)
        .then((outcome) => {
          if (outcome.error) {
            // Another middleware (e.g. a timeout) answered while the guard decided: the decision is
            // audited, but there is nothing left to answer, and writing would throw ERR_HTTP_HEADERS_SENT.
            if (alreadyAnswered(res)) return;
            if (passErrors) return next(outcome.error);
            return sendProblem(res, outcome.error, outcome.requestId);
          }
          let tracked = false;
          try {
            res.locals.pipl = handlerContext(outcome);
            if (requirement.response) scopeJson(res, requirement, outcome);
            tracked = true;
            if (trackOutcome(pipl as PiplGuard<string, string>, outcome, req, res, startedAt)) next();
          } catch (unexpected) {
            failedAfterAllow(pipl as PiplGuard<string, string>, outcome, tracked, startedAt, unexpected);
            failClosed(res, next, passErrors, unexpected);
          }
        })
        .catch((unexpected: unknown) => {
          pipl.reportError(unexpected);
          failClosed(res, next, passErrors, unexpected);
        });
    });
  };
}

/**
 * Last resort for a bug in this adapter: the request is stopped, and nothing is left to reject
 * unhandled (Node ends the process on an unhandled rejection by default).
 */
function failClosed(res: Response, next: NextFunction, passErrors: boolean, unexpected: unknown): void {
  try {
    if (alreadyAnswered(res)) return;
    const error = new PiplGuardError('guard_unavailable', undefined, { 'retry-after': '5' });
    error.cause = unexpected;
    if (passErrors) next(error);
    else sendProblem(res, error);
  } catch {
    // Nothing more can be done for this response.
  }
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

import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express, { type Request, type Response } from 'express';
import Koa, { type Context } from 'koa';
import { expressGuard } from '../../src/adapters/express/index.js';
import { koaGuard } from '../../src/adapters/koa/index.js';
import type { PiplContext, PiplGuard, RouteRequirement } from '../../src/index.js';

/** One route of a law-conformance app: a purpose, its requirement, and what the handler answers. */
export interface LawRoute {
  method: 'get' | 'post';
  path: string;
  purpose: string;
  requirement: RouteRequirement;
  /** The route names its subject in the path (`:id`). */
  subject?: boolean;
  /** The handler's JSON body (default: the decision's reason). */
  body?: (pipl: PiplContext | undefined) => unknown;
}

function echo(pipl: PiplContext | undefined) {
  return { reason: pipl?.decision.reason, degraded: pipl?.degraded };
}

function actorOf(header: string | string[] | undefined) {
  return typeof header === 'string' ? { id: 'staff-1', type: header } : { id: 'staff-1' };
}

/**
 * Equivalent Express and Koa apps over one guard, for behaviour that must hold on both. The actor is
 * `staff-1`, with the role sent in the `x-actor-role` header (Art. 51 tests).
 */
export function buildLawApps(pipl: PiplGuard<string, string>, routes: readonly LawRoute[]) {
  const calls = { express: 0, koa: 0 };

  const expressApp = express();
  const eGuard = expressGuard(pipl, { actor: (req) => actorOf(req.headers['x-actor-role']) });
  for (const route of routes) {
    const middleware = eGuard(route.purpose, {
      ...route.requirement,
      ...(route.subject ? { subject: (req: Request) => String(req.params.id) } : {}),
    });
    expressApp[route.method](route.path, middleware, (_req: Request, res: Response) => {
      calls.express++;
      res.json((route.body ?? echo)(res.locals.pipl));
    });
  }

  const koaApp = new Koa();
  koaApp.silent = true;
  const kGuard = koaGuard(pipl, { actor: (ctx) => actorOf(ctx.req.headers['x-actor-role']) });
  const router = new Router();
  for (const route of routes) {
    const middleware = kGuard(route.purpose, {
      ...route.requirement,
      ...(route.subject
        ? { subject: (ctx: Context) => String((ctx as Context & { params: { id: string } }).params.id) }
        : {}),
    });
    router[route.method](route.path, middleware, (ctx) => {
      calls.koa++;
      ctx.body = (route.body ?? echo)(ctx.state.pipl);
    });
  }
  koaApp.use(router.routes());

  return {
    express: expressApp as unknown as RequestListener,
    koa: koaApp.callback() as RequestListener,
    calls,
  };
}

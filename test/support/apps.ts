import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import Koa, { type Context, type Middleware } from 'koa';
import { expressGuard, piplProblemHandler } from '../../src/adapters/express/index.js';
import { koaGuard, piplProblems } from '../../src/adapters/koa/index.js';
import type { PiplContext, PiplGuard, PiplGuardError } from '../../src/index.js';
import { buildNest, buildRoutingControllers } from './decorated-apps.js';
import type { TestPurpose } from './fixture.js';

export const FRAMEWORKS = [
  'express',
  'koa',
  // Decorator integrations (issue 7): the same cases through pipl-guard/nestjs and /routing-controllers.
  'nestjs',
  'routing-controllers-express',
  'routing-controllers-koa',
] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/** The two middleware adapters, for cases whose apps are built by hand (not through `buildApps`). */
export const MIDDLEWARE_FRAMEWORKS = ['express', 'koa'] as const;

/**
 * How denials reach the client:
 * - `respond`: the guard answers itself (default);
 * - `library`: Express `errors: 'next'` + `piplProblemHandler()`, Koa `errors: 'throw'` + `piplProblems()`;
 * - `custom`: the same error modes, rendered by the application's own error handler / try-catch,
 *   which answers `{ handledBy: 'app', status, code }` with the error's status and headers.
 */
export type ErrorMode = 'respond' | 'library' | 'custom';

export type BuiltApps = Record<Framework, RequestListener> & {
  /** How many times a guarded handler ran, per framework. */
  calls: Record<Framework, number>;
};

/** One route per purpose in the fixture policy, plus `/me` (no subject resolver). */
interface RouteSpec {
  method: 'get' | 'post';
  path: string;
  purpose: TestPurpose;
  operation: 'use' | 'provide' | 'disclose' | 'cross_border';
  subject: boolean;
  recipient?: string;
  crossBorder?: { country: string; recipient: string };
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'get', path: '/users/:id/profile', purpose: 'account.profile', operation: 'use', subject: true },
  { method: 'get', path: '/orders/:id', purpose: 'order.fulfilment', operation: 'use', subject: false },
  {
    method: 'get',
    path: '/users/:id/recommendations',
    purpose: 'marketing.personalized',
    operation: 'use',
    subject: true,
  },
  { method: 'get', path: '/users/:id/health', purpose: 'health.records', operation: 'use', subject: true },
  { method: 'get', path: '/users/:id/card', purpose: 'payments.card', operation: 'use', subject: true },
  {
    method: 'post',
    path: '/users/:id/share',
    purpose: 'partner.delivery',
    operation: 'provide',
    subject: true,
    recipient: 'AcmeLogistics',
  },
  {
    method: 'post',
    path: '/users/:id/publish',
    purpose: 'profile.publish',
    operation: 'disclose',
    subject: true,
  },
  {
    method: 'post',
    path: '/users/:id/overseas',
    purpose: 'support.overseas',
    operation: 'cross_border',
    subject: true,
    crossBorder: { country: 'SG', recipient: 'Acme SG Support' },
  },
  { method: 'get', path: '/me', purpose: 'account.profile', operation: 'use', subject: false },
];

function echo(pipl: PiplContext | undefined) {
  return {
    reason: pipl?.decision.reason,
    degraded: pipl?.degraded,
    consentId: pipl?.consent?.id ?? null,
  };
}

function requirementOf(route: RouteSpec) {
  return {
    operation: route.operation,
    ...(route.recipient ? { recipient: route.recipient } : {}),
    ...(route.crossBorder ? { crossBorder: route.crossBorder } : {}),
  };
}

function buildExpress(
  pipl: PiplGuard<TestPurpose, 'loyalty_points'>,
  mode: ErrorMode,
  calls: BuiltApps['calls'],
) {
  const guard = expressGuard(pipl, mode === 'respond' ? {} : { errors: 'next' });
  const app = express();
  for (const route of ROUTES) {
    const middleware = guard(route.purpose, {
      ...requirementOf(route),
      ...(route.subject ? { subject: (req: Request) => String(req.params.id) } : {}),
    });
    app[route.method](route.path, middleware, (_req: Request, res: Response) => {
      calls.express++;
      res.json(echo(res.locals.pipl));
    });
  }
  if (mode === 'library') app.use(piplProblemHandler());
  if (mode === 'custom') {
    const handler: ErrorRequestHandler = (error: PiplGuardError, _req, res, _next) => {
      res
        .status(error.status)
        .set(error.headers)
        .json({ handledBy: 'app', status: error.status, code: error.code });
    };
    app.use(handler);
  }
  return app as unknown as RequestListener;
}

function buildKoa(
  pipl: PiplGuard<TestPurpose, 'loyalty_points'>,
  mode: ErrorMode,
  calls: BuiltApps['calls'],
) {
  const guard = koaGuard(pipl, mode === 'respond' ? {} : { errors: 'throw' });
  const app = new Koa();
  app.silent = true;
  if (mode === 'library') app.use(piplProblems());
  if (mode === 'custom') {
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (caught) {
        const error = caught as PiplGuardError;
        ctx.status = error.status;
        ctx.set(error.headers);
        ctx.body = { handledBy: 'app', status: error.status, code: error.code };
      }
    });
  }
  const router = new Router();
  for (const route of ROUTES) {
    const middleware: Middleware = guard(route.purpose, {
      ...requirementOf(route),
      ...(route.subject
        ? { subject: (ctx: Context) => String((ctx as Context & { params: { id: string } }).params.id) }
        : {}),
    });
    router[route.method](route.path, middleware, (ctx) => {
      calls.koa++;
      ctx.body = echo(ctx.state.pipl);
    });
  }
  app.use(router.routes());
  return app.callback() as RequestListener;
}

/** Builds equivalent Express and Koa apps over one guard (from `guardOptions()`). */
export function buildApps(
  setup: { guard: PiplGuard<TestPurpose, 'loyalty_points'> },
  mode: ErrorMode = 'respond',
): BuiltApps {
  const calls = {
    express: 0,
    koa: 0,
    nestjs: 0,
    'routing-controllers-express': 0,
    'routing-controllers-koa': 0,
  };
  const apps = {
    express: buildExpress(setup.guard, mode, calls),
    koa: buildKoa(setup.guard, mode, calls),
    calls,
  } as BuiltApps;
  // Built on first use: a Nest application takes a while to start.
  const routes = ROUTES.map((route) => ({ ...route, requirement: requirementOf(route) }));
  const lazy = {
    nestjs: () => buildNest(setup.guard, routes, echo, () => calls.nestjs++),
    'routing-controllers-express': () =>
      buildRoutingControllers(
        setup.guard,
        routes,
        echo,
        () => calls['routing-controllers-express']++,
        'express',
      ),
    'routing-controllers-koa': () =>
      buildRoutingControllers(setup.guard, routes, echo, () => calls['routing-controllers-koa']++, 'koa'),
  };
  for (const [name, build] of Object.entries(lazy)) {
    let app: RequestListener | undefined;
    Object.defineProperty(apps, name, { get: () => (app ??= build()), enumerable: true });
  }
  return apps;
}

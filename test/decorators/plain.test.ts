import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express, { type Request, type Response } from 'express';
import Koa, { type Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import {
  createDecorators,
  mountExpressController,
  mountKoaController,
  PiplExempt,
  Route,
} from '../../src/decorators/index.js';
import { isPiplGuardError } from '../../src/index.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, policy, tokenFor } from '../support/fixture.js';

// Standard (TC39) decorators: this file is compiled by esbuild (see vitest.config.ts).
const keys = await makeKeys();
const token = await tokenFor(keys);
const { RequiresConsent, PiplController } = createDecorators(policy);

const ran: string[] = [];

@PiplController({ purpose: 'account.profile', subject: (req: Request) => req.params.id })
class ProfileController {
  @Route('get', '/users/:id/profile')
  @RequiresConsent({ operation: 'use' })
  profile(_req: Request, res: Response) {
    ran.push('profile');
    res.json({ reason: res.locals.pipl?.decision.reason });
  }

  @RequiresConsent('order.fulfilment', { operation: 'use', subject: undefined })
  @Route('get', '/orders/:id')
  order() {
    ran.push('order');
    return { ok: true };
  }

  @Route('get', '/health')
  @PiplExempt()
  health() {
    return { ok: true };
  }
}

@PiplController({ purpose: 'account.profile', subject: (ctx: Context) => ctx.params.id })
class KoaProfileController {
  @Route('get', '/users/:id/profile')
  @RequiresConsent({ operation: 'use' })
  profile(ctx: Context) {
    ran.push('koa.profile');
    ctx.body = { reason: ctx.state.pipl?.decision.reason };
  }

  @Route('get', '/orders/:id')
  @RequiresConsent('order.fulfilment', { operation: 'use', subject: undefined })
  order() {
    return { ok: true };
  }
}

function expressApp(setup: ReturnType<typeof guardOptions>, controller = new ProfileController()) {
  const app = express();
  const router = express.Router();
  mountExpressController(router, setup.guard, controller);
  app.use(router);
  return app as unknown as RequestListener;
}

function koaApp(setup: ReturnType<typeof guardOptions>) {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  mountKoaController(router, setup.guard, new KoaProfileController());
  app.use(router.routes());
  return app.callback() as RequestListener;
}

describe('decorated plain classes (standard decorators)', () => {
  it('Express: same decision, problem+json and audit record as expressGuard', async () => {
    ran.length = 0;
    const setup = guardOptions(keys);
    const app = expressApp(setup);
    const denied = await send(app, { path: '/users/user-1/profile' });
    expectProblem(denied, 'consent_required');
    expect(ran).toEqual([]);
    const record = expectOneAudit(setup.audit.records, {
      decision: 'deny',
      reason: 'consent_required',
      subject: 'user-1',
    });
    expect(record).toMatchObject({
      route: '/users/:id/profile',
      method: 'GET',
      requestId: denied.body.requestId,
    });

    // The same route through expressGuard gives the same answer and the same record.
    const reference = guardOptions(keys);
    const plain = express();
    plain.get(
      '/users/:id/profile',
      expressGuard(reference.guard)('account.profile', {
        operation: 'use',
        subject: (req) => String(req.params.id),
      }),
      (_req, res) => res.json({}),
    );
    const expected = await send(plain as unknown as RequestListener, { path: '/users/user-1/profile' });
    expect(denied.status).toBe(expected.status);
    expect({ ...denied.body, requestId: 0 }).toEqual({ ...expected.body, requestId: 0 });
    const [mine, theirs] = [setup.audit.records[0], reference.audit.records[0]] as Record<string, unknown>[];
    const strip = (r: Record<string, unknown> | undefined) => {
      const { requestId, at, seq, prev, hash, ts, time, id, ...rest } = r ?? {};
      return rest;
    };
    expect(strip(mine)).toEqual(strip(theirs));

    const allowed = await send(app, { path: '/users/user-1/profile', token });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ reason: 'consent_valid' });
    expect(ran).toEqual(['profile']);
  });

  it('Express: a returned value is sent as JSON; a non-consent purpose needs no token; exempt routes pass', async () => {
    ran.length = 0;
    const setup = guardOptions(keys);
    const app = expressApp(setup);
    const order = await send(app, { path: '/orders/o-1' });
    expect(order.status).toBe(200);
    expect(order.body).toEqual({ ok: true });
    expect(ran).toEqual(['order']);
    expectOneAudit(setup.audit.records, { decision: 'allow', reason: 'lawful_basis', subject: null });
    const health = await send(app, { path: '/health' });
    expect(health.body).toEqual({ ok: true });
  });

  it('Koa (@koa/router): same decision and audit record', async () => {
    ran.length = 0;
    const setup = guardOptions(keys);
    const app = koaApp(setup);
    const denied = await send(app, { path: '/users/user-2/profile', token });
    expectProblem(denied, 'subject_mismatch');
    expect(ran).toEqual([]);
    const record = expectOneAudit(setup.audit.records, {
      decision: 'deny',
      reason: 'subject_mismatch',
      subject: 'user-2',
    });
    expect(record).toMatchObject({ route: '/users/:id/profile', method: 'GET' });
    const allowed = await send(app, { path: '/users/user-1/profile', token });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ reason: 'consent_valid' });
    expect(ran).toEqual(['koa.profile']);
    const order = await send(app, { path: '/orders/o-1' });
    expect(order.status).toBe(200);
    expect(order.body).toEqual({ ok: true });
  });
});

describe('fail closed: a decorated method reached without its guard', () => {
  it('mounted without the integration (Express) → 503 guard_unavailable, method not run', async () => {
    ran.length = 0;
    const controller = new ProfileController();
    const app = express();
    app.get('/users/:id/profile', (req, res) => controller.profile(req, res));
    app.use((error: unknown, _req: Request, res: Response, _next: () => void) => {
      if (!isPiplGuardError(error)) throw error;
      res.status(error.status).set(error.headers).json(error.toProblem());
    });
    const res = await send(app as unknown as RequestListener, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('guard_unavailable');
    expect(res.headers['retry-after']).toBe('5');
    expect(ran).toEqual([]);
  });

  it('mounted without the integration (Koa) → 503 guard_unavailable, method not run', async () => {
    ran.length = 0;
    const controller = new KoaProfileController();
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/users/:id/profile', (ctx) => controller.profile(ctx));
    app.use(router.routes());
    const res = await send(app.callback() as RequestListener, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(503);
    expect(ran).toEqual([]);
  });

  it('called from another guarded route → 503 guard_unavailable; the other method runs only once', async () => {
    ran.length = 0;
    const setup = guardOptions(keys);
    const controller = new ProfileController();
    const app = express();
    const router = express.Router();
    mountExpressController(router, setup.guard, controller);
    app.use(router);
    // A handler allowed for order.fulfilment calls the account.profile method itself.
    app.get(
      '/orders/:id/profile',
      expressGuard(setup.guard)('order.fulfilment', { operation: 'use' }),
      (req, res) => controller.profile(req, res),
    );
    const res = await send(app as unknown as RequestListener, { path: '/orders/o-1/profile', token });
    expect(res.status).toBe(503);
    expect(ran).toEqual([]);
  });

  it('called outside any request → throws guard_unavailable', () => {
    const controller = new ProfileController();
    let caught: unknown;
    try {
      controller.order();
    } catch (error) {
      caught = error;
    }
    expect(isPiplGuardError(caught) && caught.code).toBe('guard_unavailable');
    expect(ran).not.toContain('order');
  });
});

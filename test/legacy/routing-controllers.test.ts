import 'reflect-metadata';
import type { RequestListener } from 'node:http';
import express, { type Request } from 'express';
import Koa, { type Context } from 'koa';
import { Ctx, Get, JsonController, Param, Res, useExpressServer, useKoaServer } from 'routing-controllers';
import { describe, expect, it } from 'vitest';
import { piplProblemHandler } from '../../src/adapters/express/index.js';
import { piplProblems } from '../../src/adapters/koa/index.js';
import { routingControllersDecorators } from '../../src/routing-controllers/index.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, tokenFor } from '../support/fixture.js';

// Legacy decorators, as routing-controllers 0.11 uses them; on Express 5 and on Koa 3.
const keys = await makeKeys();
const token = await tokenFor(keys);
const setup = guardOptions(keys);
const ran: string[] = [];

const onExpress = routingControllersDecorators(setup.guard, { driver: 'express' });
const onKoa = routingControllersDecorators(setup.guard, { driver: 'koa' });

@onExpress.PiplController({ purpose: 'account.profile' })
@JsonController('/users')
class ExpressUsers {
  @Get('/:id/profile')
  @onExpress.RequiresConsent({ operation: 'use', subject: (req: Request) => req.params.id })
  profile(@Param('id') id: string, @Res() res: express.Response) {
    ran.push(`express:${id}`);
    return { reason: res.locals.pipl?.decision.reason };
  }

  @Get('/:id/unguarded-call')
  callsProfile(@Param('id') id: string, @Res() res: express.Response) {
    return this.profile(id, res);
  }
}

@onKoa.PiplController({ purpose: 'account.profile' })
@JsonController('/users')
class KoaUsers {
  @Get('/:id/profile')
  @onKoa.RequiresConsent({ operation: 'use', subject: (ctx: Context) => ctx.params.id })
  profile(@Param('id') id: string, @Ctx() ctx: Context) {
    ran.push(`koa:${id}`);
    return { reason: ctx.state.pipl?.decision.reason };
  }

  @Get('/:id/unguarded-call')
  callsProfile(@Param('id') id: string, @Ctx() ctx: Context) {
    return this.profile(id, ctx);
  }
}

function expressApp(): RequestListener {
  const app = express();
  useExpressServer(app, { controllers: [ExpressUsers], defaultErrorHandler: false, development: false });
  app.use(piplProblemHandler());
  return app as unknown as RequestListener;
}

function koaApp(): RequestListener {
  const app = new Koa();
  app.silent = true;
  app.use(piplProblems());
  useKoaServer(app, { controllers: [KoaUsers], defaultErrorHandler: false, development: false });
  return app.callback() as RequestListener;
}

const APPS = { express: expressApp(), koa: koaApp() };

for (const driver of ['express', 'koa'] as const) {
  describe(`pipl-guard/routing-controllers (0.11, ${driver} driver)`, () => {
    it('denies with problem+json and the audit record of expressGuard/koaGuard', async () => {
      ran.length = 0;
      const before = setup.audit.records.length;
      const res = await send(APPS[driver], { path: '/users/user-2/profile', token });
      expectProblem(res, 'subject_mismatch');
      const record = expectOneAudit(setup.audit.records.slice(before), {
        decision: 'deny',
        reason: 'subject_mismatch',
        subject: 'user-2',
      });
      expect(record).toMatchObject({
        route: '/users/:id/profile',
        method: 'GET',
        requestId: res.body.requestId,
      });
      expect(ran).toEqual([]);
    });

    it('allows with a valid token and the handler sees the decision', async () => {
      ran.length = 0;
      const res = await send(APPS[driver], { path: '/users/user-1/profile', token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ reason: 'consent_valid' });
      expect(ran).toEqual([`${driver}:user-1`]);
    });

    it('fail closed: the method called from an unguarded action → 503 guard_unavailable, not run', async () => {
      ran.length = 0;
      const res = await send(APPS[driver], { path: '/users/user-1/unguarded-call', token });
      expectProblem(res, 'guard_unavailable');
      expect(ran).toEqual([]);
    });
  });
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App,
  Configuration,
  Controller,
  CustomModuleDetector,
  Get,
  type IMidwayApplication,
  Inject,
} from '@midwayjs/core';
import * as koa from '@midwayjs/koa';
import { close, createApp } from '@midwayjs/mock';
import type { Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecorators, PiplExempt } from '../../src/decorators/index.js';
import { PiplMidwayFilter, piplMidwayGuard, piplMidwayMiddleware } from '../../src/midway/index.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, policy, tokenFor } from '../support/fixture.js';

// Midway 4 on @midwayjs/koa, legacy decorators; classes registered with CustomModuleDetector.
const keys = await makeKeys();
const token = await tokenFor(keys);
const setup = guardOptions(keys);
const { RequiresConsent } = createDecorators(policy);
const ran: string[] = [];
const PiplGuardClass = piplMidwayGuard(setup.guard);

@Controller('/users')
class UsersController {
  @Inject()
  ctx!: Context;

  @Get('/:id/profile')
  @RequiresConsent('account.profile', { operation: 'use', subject: (ctx: Context) => ctx.params.id })
  async profile() {
    ran.push('profile');
    return { reason: this.ctx.state.pipl?.decision.reason };
  }

  @Get('/:id/undeclared')
  async undeclared() {
    ran.push('undeclared');
    return { ok: true };
  }

  // Exempt, so the guard lets it through: the decorated method it calls must still refuse.
  @Get('/:id/calls-profile')
  @PiplExempt()
  async callsProfile() {
    return this.profile();
  }
}

@Configuration({
  imports: [koa],
  detector: new CustomModuleDetector({ modules: [UsersController, PiplGuardClass, PiplMidwayFilter] }),
  importConfigs: [{ default: { keys: 'test-keys', koa: { port: null } } }],
})
class MainConfiguration {
  @App()
  app!: koa.Application;

  async onReady() {
    this.app.useMiddleware(piplMidwayMiddleware);
    this.app.useGuard(PiplGuardClass);
    this.app.useFilter(PiplMidwayFilter);
  }
}

let app: IMidwayApplication;
let listener: Parameters<typeof send>[0];
beforeAll(async () => {
  // Midway writes its own logs under appDir: keep them out of the repository.
  const dir = mkdtempSync(join(tmpdir(), 'pipl-midway-'));
  app = await createApp({ imports: [MainConfiguration], baseDir: dir, appDir: dir } as never);
  listener = (app as unknown as { callback(): Parameters<typeof send>[0] }).callback();
});
afterAll(() => close(app));

describe('pipl-guard/midway (Midway 4, @midwayjs/koa)', () => {
  it('denies with problem+json and the koaGuard audit record (route pattern)', async () => {
    const res = await send(listener, { path: '/users/user-2/profile', token });
    expectProblem(res, 'subject_mismatch');
    const record = expectOneAudit(setup.audit.records, {
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

  it('allows with a valid token', async () => {
    const res = await send(listener, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reason: 'consent_valid' });
    expect(ran).toEqual(['profile']);
    ran.length = 0;
  });

  it('fail closed: undeclared method refused by default; decorated method called from another → 503', async () => {
    expectProblem(await send(listener, { path: '/users/user-1/undeclared', token }), 'guard_unavailable');
    expectProblem(await send(listener, { path: '/users/user-1/calls-profile', token }), 'guard_unavailable');
    expect(ran).toEqual([]);
  });
});

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
import { PiplMidwayFilter, piplMidwayGuard } from '../../src/midway/index.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, policy, tokenFor } from '../support/fixture.js';

// The Midway app of midway.test.ts, minus the middleware that opens the decision slot.
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

describe('pipl-guard/midway without piplMidwayMiddleware', () => {
  it('an allowed request still does not reach the method: 503 guard_unavailable (fails closed)', async () => {
    const res = await send(listener, { path: '/users/user-1/profile', token });
    expectProblem(res, 'guard_unavailable');
    expect(ran).toEqual([]);
    // The guard itself allowed it, and audited that.
    expectOneAudit(setup.audit.records, { decision: 'allow', reason: 'consent_valid', subject: 'user-1' });
  });
});

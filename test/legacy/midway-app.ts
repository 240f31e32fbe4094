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
import { createDecorators, PiplExempt } from '../../src/decorators/index.js';
import { PiplMidwayFilter, piplMidwayGuard, piplMidwayMiddleware } from '../../src/midway/index.js';
import type { send } from '../support/assertions.js';
import { guardOptions, makeKeys, policy, tokenFor } from '../support/fixture.js';

/**
 * The Midway 4 app both Midway test files run (each in its own process: Midway's container is
 * global): @midwayjs/koa, legacy decorators, classes registered with CustomModuleDetector.
 * `slot: false` leaves out the middleware that opens the per-request decision slot.
 */
export async function startMidwayApp(options: { slot: boolean }) {
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
      if (options.slot) this.app.useMiddleware(piplMidwayMiddleware);
      this.app.useGuard(PiplGuardClass);
      this.app.useFilter(PiplMidwayFilter);
    }
  }

  // Midway writes its own logs under appDir: keep them out of the repository.
  const dir = mkdtempSync(join(tmpdir(), 'pipl-midway-'));
  const app: IMidwayApplication = await createApp({
    imports: [MainConfiguration],
    baseDir: dir,
    appDir: dir,
  } as never);
  const listener = (app as unknown as { callback(): Parameters<typeof send>[0] }).callback();
  return { token, setup, ran, listener, close: () => close(app) };
}

// README "Decorators and frameworks": Midway 4 on @midwayjs/koa (legacy decorators).
import { App, Configuration, Controller, CustomModuleDetector, Get, Inject } from '@midwayjs/core';
import * as koa from '@midwayjs/koa';
import type { Context } from 'koa';
import { createDecorators, PiplMidwayFilter, piplMidwayGuard, piplMidwayMiddleware } from 'pipl-guard/midway';
import { exampleGuard } from '../integrations-support.js';

export const example = await exampleGuard();
const { RequiresConsent } = createDecorators(example.pipl);
const PiplGuard = piplMidwayGuard(example.pipl);

@Controller('/users')
export class RecordsController {
  @Inject()
  ctx!: Context;

  @Get('/:id/records')
  @RequiresConsent('health.records', { operation: 'use', subject: (ctx: Context) => ctx.params.id })
  async records() {
    return { user: this.ctx.params.id, reason: this.ctx.state.pipl?.decision.reason };
  }
}

@Configuration({
  imports: [koa],
  detector: new CustomModuleDetector({ modules: [RecordsController, PiplGuard, PiplMidwayFilter] }),
  importConfigs: [{ default: { keys: 'example-keys', koa: { port: null } } }],
})
export class MainConfiguration {
  @App()
  app!: koa.Application;

  async onReady() {
    this.app.useMiddleware(piplMidwayMiddleware); // opens the per-request decision slot
    this.app.useGuard(PiplGuard);
    this.app.useFilter(PiplMidwayFilter);
  }
}

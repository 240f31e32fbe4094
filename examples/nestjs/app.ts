// README "Decorators and frameworks": NestJS 11 (legacy decorators, tsconfig.legacy.json).
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import type { Request } from 'express';
import type { PiplContext, PiplGuard } from 'pipl-guard';
import { createDecorators, PiplDecision, PiplModule } from 'pipl-guard/nestjs';
import { exampleGuard } from '../integrations-support.js';

export const example = await exampleGuard();
const { RequiresConsent } = createDecorators(example.pipl);

@Controller('users')
export class RecordsController {
  @Get(':id/records')
  @RequiresConsent('health.records', { operation: 'use', subject: (req: Request) => req.params.id })
  records(@Param('id') id: string, @PiplDecision() pipl: PiplContext) {
    return { user: id, reason: pipl.decision.reason };
  }
}

export function appModule(pipl: PiplGuard<'health.records'>) {
  @Module({ imports: [PiplModule.forRoot({ pipl })], controllers: [RecordsController] })
  class AppModule {}
  return AppModule;
}

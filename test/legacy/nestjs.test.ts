import 'reflect-metadata';
import type { RequestListener } from 'node:http';
import { Controller, Get, Inject, Module, Param, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecorators, PiplExempt } from '../../src/decorators/index.js';
import type { PiplContext } from '../../src/index.js';
import { PiplDecision, PiplModule, type PiplModuleOptions, PiplNestGuard } from '../../src/nestjs/index.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, policy, tokenFor } from '../support/fixture.js';

// Legacy decorators (experimentalDecorators, test/legacy/tsconfig.json), as NestJS apps use them.
const keys = await makeKeys();
const token = await tokenFor(keys);
const { RequiresConsent, PiplController } = createDecorators(policy);
const ran: string[] = [];

@PiplController({ subject: (req: Request) => req.params.id })
@Controller('users')
class UsersController {
  @Get(':id/profile')
  @RequiresConsent('account.profile', { operation: 'use' })
  profile(@Param('id') id: string, @PiplDecision() pipl: PiplContext) {
    ran.push(`profile:${id}`);
    return { reason: pipl.decision.reason, degraded: pipl.degraded, consentId: pipl.consent?.id ?? null };
  }

  // Our decorator above Nest's: the route metadata must survive the fail-closed wrapper.
  @RequiresConsent('marketing.personalized', { operation: 'use' })
  @Get(':id/recommendations')
  recommendations(@PiplDecision() pipl: PiplContext) {
    ran.push('recommendations');
    return { reason: pipl.decision.reason, degraded: pipl.degraded };
  }

  @Get(':id/undeclared')
  undeclared() {
    ran.push('undeclared');
    return { ok: true };
  }

  @Get(':id/exempt')
  @PiplExempt()
  exempt() {
    return { ok: true };
  }
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  ran.length = 0;
});

async function nestApp(imports: unknown[], controllers: unknown[] = [UsersController]) {
  const moduleRef = await Test.createTestingModule({
    imports: imports as never[],
    controllers: controllers as never[],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  close = () => app.close();
  return app.getHttpServer() as unknown as RequestListener;
}

describe('pipl-guard/nestjs (Nest 11, platform-express on Express 5)', () => {
  it('denies with the same problem+json and audit record (route pattern) as expressGuard', async () => {
    const setup = guardOptions(keys);
    const server = await nestApp([PiplModule.forRoot({ pipl: setup.guard })]);
    const res = await send(server, { path: '/users/user-1/profile' });
    expectProblem(res, 'consent_required');
    const record = expectOneAudit(setup.audit.records, {
      decision: 'deny',
      reason: 'consent_required',
      subject: 'user-1',
    });
    expect(record).toMatchObject({
      route: '/users/:id/profile',
      method: 'GET',
      requestId: res.body.requestId,
    });
    expect(ran).toEqual([]);
  });

  it('allows with a valid token; @PiplDecision() hands the decision to the handler', async () => {
    const setup = guardOptions(keys);
    const server = await nestApp([PiplModule.forRoot({ pipl: setup.guard })]);
    const res = await send(server, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reason: 'consent_valid', degraded: false });
    expect(ran).toEqual(['profile:user-1']);
    const degraded = await send(server, { path: '/users/user-1/recommendations' });
    expect(degraded.body).toEqual({ reason: 'degraded_no_consent', degraded: true });
  });

  it('a route with no requirement is refused by default (503 guard_unavailable), allowed when configured', async () => {
    const setup = guardOptions(keys);
    let server = await nestApp([PiplModule.forRoot({ pipl: setup.guard })]);
    expectProblem(await send(server, { path: '/users/user-1/undeclared' }), 'guard_unavailable');
    expect((await send(server, { path: '/users/user-1/exempt' })).status).toBe(200);
    expect(ran).toEqual([]);
    await close?.();
    server = await nestApp([PiplModule.forRoot({ pipl: setup.guard, undeclared: 'allow' })]);
    expect((await send(server, { path: '/users/user-1/undeclared' })).status).toBe(200);
    expect(setup.audit.records.filter((r) => (r as { type: string }).type === 'decision')).toHaveLength(0);
  });

  it('forRootAsync with an injected factory; @UseGuards when not global', async () => {
    const setup = guardOptions(keys);
    @Module({ providers: [{ provide: 'PIPL', useValue: setup.guard }], exports: ['PIPL'] })
    class ConfigModule {}
    @UseGuards(PiplNestGuard)
    @Controller('guarded')
    class Guarded {
      constructor(@Inject('PIPL') readonly unused: unknown) {}
      @Get(':id')
      @RequiresConsent('account.profile', { operation: 'use', subject: (req: Request) => req.params.id })
      one(@PiplDecision() pipl: PiplContext) {
        return { reason: pipl.decision.reason };
      }
    }
    const server = await nestApp(
      [
        ConfigModule,
        PiplModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['PIPL'],
          useFactory: ((pipl: PiplModuleOptions['pipl']) => ({ pipl })) as never,
          global: false,
        }),
      ],
      [Guarded],
    );
    expectProblem(await send(server, { path: '/guarded/user-2', token }), 'subject_mismatch');
    expect((await send(server, { path: '/guarded/user-1', token })).body).toEqual({
      reason: 'consent_valid',
    });
  });

  it('fail closed: a decorated handler in an app without the module → 503, handler not run', async () => {
    const server = await nestApp([]);
    const res = await send(server, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(503);
    expect(ran).toEqual([]);
  });

  it('fail closed: module registered but not global and no @UseGuards → 503 guard_unavailable', async () => {
    const setup = guardOptions(keys);
    const server = await nestApp([PiplModule.forRoot({ pipl: setup.guard, global: false })]);
    const res = await send(server, { path: '/users/user-1/profile', token });
    expectProblem(res, 'guard_unavailable');
    expect(ran).toEqual([]);
  });

  it('start-up: a requirement the policy does not declare fails app.init() naming class and method', async () => {
    const setup = guardOptions(keys);
    const untyped = RequiresConsent as (purpose: string, route: object) => MethodDecorator;
    @Controller('bad')
    class BadController {
      @Get()
      @untyped('health.record', { operation: 'use' })
      list() {}
    }
    await expect(nestApp([PiplModule.forRoot({ pipl: setup.guard })], [BadController])).rejects.toThrow(
      /^BadController\.list\(\): .*unknown purpose/,
    );
  });
});

import express from 'express';
import Koa from 'koa';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { koaGuard } from '../src/adapters/koa/index.js';
import {
  createPiplGuard,
  type Decision,
  definePolicy,
  isPiplGuardError,
  memoryAuditSink,
  PiplConfigError,
  type PiplContext,
  type PiplGuardError,
  type ReasonCode,
  type VerifiedConsent,
} from '../src/index.js';

// Type-level tests of the public API: they fail at `npm run typecheck`, not at run time.
const policy = definePolicy({
  notice: { id: 'n', version: 1 },
  categories: { loyalty_points: { sensitive: false } },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    },
    'loyalty.points': {
      basis: 'consent',
      categories: ['loyalty_points'],
      operations: ['use'],
      necessaryForService: false,
    },
  },
});
const pipl = createPiplGuard({
  policy,
  consent: { issuer: 'i', audience: 'a', algorithms: ['ES256'], jwks: { keys: [{ kty: 'EC' }] } },
  audit: { sink: memoryAuditSink(), subjectKey: 'k'.repeat(32) },
});

describe('public types', () => {
  it('knows the declared purposes and categories', () => {
    const guard = expressGuard(pipl);
    expectTypeOf(guard).parameter(0).toEqualTypeOf<'order.fulfilment' | 'loyalty.points'>();
    // @ts-expect-error a purpose the policy does not declare
    expectTypeOf(guard).toBeCallableWith('order.fulfillment', { operation: 'use' });
    // Caught twice: by the compiler, and at start-up for plain JavaScript callers.
    // @ts-expect-error a category no registry knows
    expect(() => guard('loyalty.points', { operation: 'use', categories: ['loyalty_pts'] })).toThrow(
      PiplConfigError,
    );
    // @ts-expect-error an operation outside PIPL Art. 4
    expect(() => guard('loyalty.points', { operation: 'sell' })).toThrow(PiplConfigError);
  });

  it('types res.locals.pipl by declaration merging (Express)', () => {
    const app = express();
    app.get('/x', expressGuard(pipl)('loyalty.points', { operation: 'use' }), (_req, res) => {
      expectTypeOf(res.locals.pipl).toEqualTypeOf<PiplContext | undefined>();
      expectTypeOf(res.locals.pipl?.decision.reason).toEqualTypeOf<ReasonCode | undefined>();
      expectTypeOf(res.locals.pipl?.consent).toEqualTypeOf<VerifiedConsent | undefined>();
      res.end();
    });
  });

  it('types ctx.state.pipl (Koa)', () => {
    const app = new Koa();
    app.use(koaGuard(pipl)('order.fulfilment', { operation: 'use' }));
    app.use((ctx) => {
      expectTypeOf(ctx.state.pipl).toEqualTypeOf<PiplContext | undefined>();
      expectTypeOf(ctx.state.pipl?.degraded).toEqualTypeOf<boolean | undefined>();
    });
  });

  it('narrows errors with isPiplGuardError and exposes decisions as data', () => {
    const error: unknown = new Error('x');
    if (isPiplGuardError(error)) {
      expectTypeOf(error).toEqualTypeOf<PiplGuardError>();
      expectTypeOf(error.status).toBeNumber();
      expectTypeOf(error.code).toExtend<ReasonCode>();
    }
    expectTypeOf<Decision['effect']>().toEqualTypeOf<'allow' | 'deny' | 'degrade'>();
  });
});

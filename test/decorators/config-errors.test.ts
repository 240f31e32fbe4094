import Router from '@koa/router';
import express from 'express';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  createDecorators,
  mountExpressController,
  mountKoaController,
  type PiplMethodDecorator,
  Route,
} from '../../src/decorators/index.js';
import { PiplConfigError } from '../../src/index.js';
import { guardOptions, makeKeys, policy } from '../support/fixture.js';

// Standard decorators (esbuild-compiled); the @ts-expect-error lines are checked by `npm run typecheck`.
const keys = await makeKeys();
const { RequiresConsent, PiplController } = createDecorators(policy);
// A JavaScript user: no types to catch the mistakes.
const untyped = RequiresConsent as (purpose: unknown, route?: unknown) => PiplMethodDecorator;

function startupError(define: () => unknown): string {
  try {
    define();
  } catch (error) {
    expect(error).toBeInstanceOf(PiplConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a PiplConfigError at start-up');
}

describe('decorators: typed against the policy', () => {
  it('misspelt purpose, category or operation is a type error', () => {
    class Typed {
      // @ts-expect-error: 'health.record' is not a purpose of the policy
      @RequiresConsent('health.record', { operation: 'use' })
      a() {}
      // @ts-expect-error: 'medical' is not a category of the policy
      @RequiresConsent('health.records', { operation: 'use', categories: ['medical'] })
      b() {}
      // @ts-expect-error: 'usee' is not an operation
      @RequiresConsent('health.records', { operation: 'usee' })
      c() {}
      @RequiresConsent('health.records', { operation: 'use', categories: ['medical_health'] })
      ok() {}
    }
    expectTypeOf(
      RequiresConsent('health.records', { operation: 'use' }),
    ).toEqualTypeOf<PiplMethodDecorator>();
    // @ts-expect-error: class defaults are typed too
    PiplController({ purpose: 'nope' });
    expect(Typed).toBeTypeOf('function');
  });
});

describe('decorators: start-up errors name the class and the method (JavaScript users)', () => {
  it('undeclared purpose, at class definition with PiplController', () => {
    const message = startupError(() => {
      @PiplController()
      class Records {
        @untyped('health.record', { operation: 'use' })
        list() {}
      }
      return Records;
    });
    expect(message).toMatch(/^Records\.list\(\): .*unknown purpose/);
  });

  it('undeclared category and operation', () => {
    expect(
      startupError(() => {
        @PiplController()
        class Records {
          @untyped('health.records', { operation: 'use', categories: ['medical'] })
          list() {}
        }
        return Records;
      }),
    ).toMatch(/^Records\.list\(\): .*unknown category "medical"/);
    expect(
      startupError(() => {
        @PiplController()
        class Records {
          @untyped('health.records', { operation: 'provide', recipient: 'X' })
          list() {}
        }
        return Records;
      }),
    ).toMatch(/^Records\.list\(\): .*operation "provide" is not declared/);
  });

  it('provide without a recipient', () => {
    expect(
      startupError(() => {
        @PiplController()
        class Share {
          @RequiresConsent('partner.delivery', { operation: 'provide' })
          send() {}
        }
        return Share;
      }),
    ).toMatch(/^Share\.send\(\): .*needs a recipient/);
  });

  it('two requirements on one method', () => {
    expect(
      startupError(() => {
        @PiplController()
        class Twice {
          @RequiresConsent('health.records', { operation: 'use' })
          @RequiresConsent('account.profile', { operation: 'use' })
          read() {}
        }
        return Twice;
      }),
    ).toMatch(/^Twice\.read\(\): 2 requirements on one method/);
  });

  it('without PiplController: at mount, and nothing is mounted', () => {
    const setup = guardOptions(keys);
    class Loose {
      @Route('get', '/a')
      @untyped('health.records', { operation: 'use' })
      a() {}
      @Route('get', '/b')
      @untyped('nope', { operation: 'use' })
      b() {}
    }
    const router = express.Router();
    expect(startupError(() => mountExpressController(router, setup.guard, new Loose()))).toMatch(
      /^Loose\.b\(\): .*unknown purpose/,
    );
    expect(router.stack).toHaveLength(0);
    expect(startupError(() => mountKoaController(new Router(), setup.guard, new Loose()))).toMatch(
      /^Loose\.b\(\)/,
    );
  });

  it('a route without a requirement, or a requirement without a route, is refused at mount', () => {
    const setup = guardOptions(keys);
    class NoRequirement {
      @Route('get', '/a')
      a() {}
    }
    expect(
      startupError(() => mountExpressController(express.Router(), setup.guard, new NoRequirement())),
    ).toMatch(/^NoRequirement\.a\(\): has a route but no RequiresConsent/);
    class NoRoute {
      @RequiresConsent('health.records', { operation: 'use' })
      a() {}
    }
    expect(startupError(() => mountExpressController(express.Router(), setup.guard, new NoRoute()))).toMatch(
      /^NoRoute\.a\(\): no @Route/,
    );
  });
});

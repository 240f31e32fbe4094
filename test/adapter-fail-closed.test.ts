/**
 * The adapters' last resort: when their own work after the decision throws (here another middleware
 * froze `res.locals` / `ctx.state`, so the decision cannot be handed to the handler), the request is
 * refused with 503 guard_unavailable as problem+json (never the framework's 500), the handler does not
 * run, nothing rejects unhandled, `onError` is told why, and the log says the allowed request was
 * answered 503.
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { koaGuard } from '../src/adapters/koa/index.js';
import { createPiplGuard, type PiplGuard } from '../src/index.js';
import { guardOptions, makeKeys, type TestPurpose, tokenFor } from './support/fixture.js';

type Guard = PiplGuard<TestPurpose, 'loyalty_points'>;

/** A guarded profile route behind a middleware that freezes what the adapter writes the decision into. */
const APPS: Record<'express' | 'koa', (pipl: Guard, handled: () => void) => RequestListener> = {
  express(pipl, handled) {
    const app = express();
    app.use((_req, res, next) => {
      res.locals = Object.freeze({});
      next();
    });
    app.get(
      '/users/:id/profile',
      expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        handled();
        res.json({ ok: true });
      },
    );
    return app;
  },
  koa(pipl, handled) {
    const app = new Koa();
    app.use((ctx, next) => {
      ctx.state = Object.freeze({});
      return next();
    });
    const router = new Router();
    router.get(
      '/users/:id/profile',
      koaGuard(pipl)('account.profile', { operation: 'use', subject: (ctx) => String(ctx.params.id) }),
      (ctx) => {
        handled();
        ctx.body = { ok: true };
      },
    );
    app.use(router.routes());
    return app.callback();
  },
};

describe.each(['express', 'koa'] as const)('%s adapter, failing after the decision', (framework) => {
  it('answers 503 guard_unavailable, runs no handler, tells onError and records the 503', async () => {
    const keys = await makeKeys();
    const errors: unknown[] = [];
    const { options, audit } = guardOptions(keys, { onError: (error) => errors.push(error) });
    const pipl = createPiplGuard(options);
    let handled = 0;
    const app = APPS[framework](pipl, () => handled++);
    const res = await request(app)
      .get('/users/user-1/profile')
      .set('pipl-consent', await tokenFor(keys));
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('guard_unavailable');
    expect(res.text).not.toMatch(/TypeError|frozen|locals|state/);
    expect(handled).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    // The `allow` was recorded before the adapter failed: the log also says the request got 503.
    const records = audit.records as {
      type: string;
      decision?: string;
      status?: number;
      requestId: string;
    }[];
    const decision = records.find((r) => r.type === 'decision');
    expect(decision?.decision).toBe('allow');
    const outcomes = records.filter((r) => r.type === 'outcome');
    expect(outcomes).toEqual([expect.objectContaining({ requestId: decision?.requestId, status: 503 })]);
  });
});

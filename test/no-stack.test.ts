import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { koaGuard } from '../src/adapters/koa/index.js';
import { guardOptions, makeKeys, tokenFor } from './support/fixture.js';

// README: "No response ever contains the token, a key or a stack trace" — also when denials are
// passed to the framework's own error handling and the app is not in production (NODE_ENV unset),
// where Express's default handler prints `err.stack` into the page.
const STACK_FRAME = /\bat .+[:(]\d+/;
const savedEnv = process.env.NODE_ENV;
afterEach(() => {
  process.env.NODE_ENV = savedEnv;
});

describe('no stack trace in a denial rendered by the framework default handler', async () => {
  const keys = await makeKeys();
  const cases: [string, (r: request.Test) => request.Test, number][] = [
    ['no token', (r) => r, 403],
    ['a forged token', (r) => r.set('pipl-consent', 'e30.e30.c2ln'), 401],
  ];

  it.each(cases)('Express, errors: next, NODE_ENV unset: %s', async (_name, send, status) => {
    delete process.env.NODE_ENV;
    const { guard } = guardOptions(keys);
    const app = express();
    expect(app.get('env')).toBe('development');
    app.get(
      '/me',
      expressGuard(guard, { errors: 'next' })('account.profile', { operation: 'use' }),
      (_req, res) => {
        res.end('ok');
      },
    );
    const response = await send(request(app).get('/me'));
    expect(response.status).toBe(status);
    expect(response.text).toContain('PiplGuardError');
    expect(response.text).not.toMatch(STACK_FRAME);
    expect(response.text).not.toContain('node_modules');
  });

  it('Express, errors: next: a token for another subject', async () => {
    delete process.env.NODE_ENV;
    const { guard } = guardOptions(keys);
    const app = express();
    app.get(
      '/users/:id',
      expressGuard(guard, { errors: 'next' })('account.profile', {
        operation: 'use',
        subject: (req) => String(req.params.id),
      }),
      (_req, res) => {
        res.end('ok');
      },
    );
    const response = await request(app)
      .get('/users/user-2')
      .set('pipl-consent', await tokenFor(keys));
    expect(response.status).toBe(403);
    expect(response.text).not.toMatch(STACK_FRAME);
  });

  it('Koa, errors: throw, default ctx.onerror', async () => {
    delete process.env.NODE_ENV;
    const { guard } = guardOptions(keys);
    const router = new Router();
    router.get(
      '/me',
      koaGuard(guard, { errors: 'throw' })('account.profile', { operation: 'use' }),
      (ctx) => {
        ctx.body = 'ok';
      },
    );
    const app = new Koa();
    app.silent = true;
    app.use(router.routes());
    const response = await request(app.callback()).get('/me');
    expect(response.status).toBe(403);
    expect(response.text).not.toMatch(STACK_FRAME);
  });
});

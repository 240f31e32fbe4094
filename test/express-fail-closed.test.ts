/**
 * The Express adapter's last resort: when its own work after the decision throws (here another
 * middleware froze `res.locals`, so the decision cannot be handed to the handler), the request is
 * refused with 503 guard_unavailable, the handler does not run, nothing rejects unhandled, and
 * `onError` is told why.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { createPiplGuard } from '../src/index.js';
import { guardOptions, makeKeys, tokenFor } from './support/fixture.js';

describe('Express adapter, failing after the decision', () => {
  it('answers 503 guard_unavailable, runs no handler and reports the error to onError', async () => {
    const keys = await makeKeys();
    const errors: unknown[] = [];
    const { options } = guardOptions(keys, { onError: (error) => errors.push(error) });
    const pipl = createPiplGuard(options);
    let handled = 0;
    const app = express();
    app.use((_req, res, next) => {
      res.locals = Object.freeze({});
      next();
    });
    app.get(
      '/users/:id/profile',
      expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        handled++;
        res.json({ ok: true });
      },
    );
    const res = await request(app)
      .get('/users/user-1/profile')
      .set('pipl-consent', await tokenFor(keys));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('guard_unavailable');
    expect(res.text).not.toMatch(/TypeError|frozen|locals/);
    expect(handled).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
  });
});

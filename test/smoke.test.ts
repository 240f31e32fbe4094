import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { guardOptions, makeKeys, tokenFor } from './support/fixture.js';

describe('smoke', () => {
  it('allows a consented request and denies a missing token', async () => {
    const keys = await makeKeys();
    const { guard: pipl, audit } = guardOptions(keys);
    const guard = expressGuard(pipl);
    const app = express();
    app.get(
      '/users/:id/profile',
      guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        res.json({ reason: res.locals.pipl?.decision.reason });
      },
    );
    const token = await tokenFor(keys);
    const ok = await request(app).get('/users/user-1/profile').set('pipl-consent', token);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ reason: 'consent_valid' });
    const denied = await request(app).get('/users/user-1/profile');
    expect(denied.status).toBe(403);
    expect(denied.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(denied.body.code).toBe('consent_required');
    const other = await request(app).get('/users/user-2/profile').set('pipl-consent', token);
    expect(other.body.code).toBe('subject_mismatch');
    // the policy in force, three decisions and the outcome of the one request that reached its handler
    expect(audit.records.map((r) => (r as { type: string }).type)).toEqual([
      'policy',
      'decision',
      'outcome',
      'decision',
      'decision',
    ]);
  });
});

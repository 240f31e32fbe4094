import { afterAll, describe, expect, it } from 'vitest';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { startMidwayApp } from './midway-app.js';

// Midway 4 on @midwayjs/koa with piplMidwayGuard, PiplMidwayFilter and piplMidwayMiddleware.
const { token, setup, ran, listener, close } = await startMidwayApp({ slot: true });
afterAll(close);

describe('pipl-guard/midway (Midway 4, @midwayjs/koa)', () => {
  it('denies with problem+json and the koaGuard audit record (route pattern)', async () => {
    const res = await send(listener, { path: '/users/user-2/profile', token });
    expectProblem(res, 'subject_mismatch');
    const record = expectOneAudit(setup.audit.records, {
      decision: 'deny',
      reason: 'subject_mismatch',
      subject: 'user-2',
    });
    expect(record).toMatchObject({
      route: '/users/:id/profile',
      method: 'GET',
      requestId: res.body.requestId,
    });
    expect(ran).toEqual([]);
  });

  it('allows with a valid token', async () => {
    const res = await send(listener, { path: '/users/user-1/profile', token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reason: 'consent_valid' });
    expect(ran).toEqual(['profile']);
    ran.length = 0;
  });

  it('fail closed: undeclared method refused by default; decorated method called from another → 503', async () => {
    expectProblem(await send(listener, { path: '/users/user-1/undeclared', token }), 'guard_unavailable');
    expectProblem(await send(listener, { path: '/users/user-1/calls-profile', token }), 'guard_unavailable');
    expect(ran).toEqual([]);
  });
});

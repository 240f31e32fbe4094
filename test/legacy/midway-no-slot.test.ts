import { afterAll, describe, expect, it } from 'vitest';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { startMidwayApp } from './midway-app.js';

// The Midway app of midway.test.ts, minus the middleware that opens the decision slot.
const { token, setup, ran, listener, close } = await startMidwayApp({ slot: false });
afterAll(close);

describe('pipl-guard/midway without piplMidwayMiddleware', () => {
  it('an allowed request still does not reach the method: 503 guard_unavailable (fails closed)', async () => {
    const res = await send(listener, { path: '/users/user-1/profile', token });
    expectProblem(res, 'guard_unavailable');
    expect(ran).toEqual([]);
    // The guard itself allowed it, and audited that.
    expectOneAudit(setup.audit.records, { decision: 'allow', reason: 'consent_valid', subject: 'user-1' });
  });
});

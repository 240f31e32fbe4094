import request from 'supertest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { memorySubjectStore } from '../../src/index.js';
import { AUDIT_KEY, type Keys, makeKeys } from '../support/fixture.js';
import { consentToken, privacyApps, shopApps, subjectGuard } from './setup.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});
const hmac = createPseudonymizer(AUDIT_KEY);
type Rec = Record<string, unknown>;
const decisions = (sink: { records: readonly unknown[] }) =>
  (sink.records as Rec[]).filter((r) => r.type === 'decision');

describe.each(['express', 'koa'] as const)('rights requests (%s)', (framework) => {
  it('a deletion request is served after the subject withdrew everything (Art. 47), and is audited as such', async () => {
    const { pipl, sink } = subjectGuard(keys);
    const app = shopApps(pipl)[framework];
    const token = await consentToken(keys, { now: Math.floor(Date.now() / 1000) - 5 });
    await pipl.subjects?.withdrawAll('u1', Math.floor(Date.now() / 1000));
    await pipl.subjects?.setOptOut('u1', 'personalization', true);
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', token)).status).toBe(403);
    const served = await request(app).delete('/users/u1').set('x-user', 'u1').set('x-request-id', 'del-1');
    expect(served.status).toBe(200);
    expect(served.body).toEqual({ reason: 'rights_request', degraded: false });
    const access = await request(app).get('/users/u1/data').set('x-user', 'u1');
    expect(access.body.reason).toBe('rights_request');
    // The client's x-request-id is kept apart; the guard's own id pairs decision and outcome.
    const deletion = decisions(sink).find((r) => r.clientRequestId === 'del-1');
    expect(deletion).toMatchObject({
      purpose: 'account.rights',
      operation: 'delete',
      basis: 'statutory',
      subject: hmac('u1'),
      actor: { id: hmac('u1') },
      decision: 'allow',
      reason: 'rights_request',
      rightsRequest: { kind: 'deletion', by: 'subject' },
    });
    // The outcome is written when the response closes, just after the client has it.
    await vi.waitFor(() =>
      expect(
        (sink.records as Rec[]).find((r) => r.type === 'outcome' && r.requestId === deletion?.requestId),
      ).toMatchObject({
        status: 200,
      }),
    );
  });

  it('refuses a caller who is not the subject with 403 rights_requester_not_subject; no caller likewise', async () => {
    const { pipl, sink } = subjectGuard(keys);
    const app = shopApps(pipl)[framework];
    const other = await request(app).delete('/users/u1').set('x-user', 'u2');
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('rights_requester_not_subject');
    expect((await request(app).get('/users/u1/data')).body.code).toBe('rights_requester_not_subject');
    expect(decisions(sink).map((r) => r.reason)).toEqual([
      'rights_requester_not_subject',
      'rights_requester_not_subject',
    ]);
  });

  it('serves an authorised agent, recorded as `by: agent`', async () => {
    const { pipl, sink } = subjectGuard(keys, {
      isAuthorizedAgent: async (actor, subject, right) =>
        actor.id === 'guardian-9' && subject === 'u1' && right === 'access',
    });
    const app = shopApps(pipl)[framework];
    expect((await request(app).get('/users/u1/data').set('x-user', 'guardian-9')).status).toBe(200);
    expect((await request(app).delete('/users/u1').set('x-user', 'guardian-9')).status).toBe(403);
    expect(decisions(sink)[0]).toMatchObject({
      rightsRequest: { kind: 'access', by: 'agent' },
      subject: hmac('u1'),
      actor: { id: hmac('guardian-9') },
    });
    // The agent is a person too: their id is pseudonymised, never stored in clear.
    expect(JSON.stringify(sink.records)).not.toContain('guardian-9');
  });

  it('an agent hook answering anything but a boolean stops the request (503) and never serves the caller', async () => {
    // A database row, `{ rows: [] }` from a query whose `.rows.length` was forgotten, SISMEMBER's 0/1:
    // read for truth, the first two would hand a stranger the subject's data.
    const answers: [string, () => unknown][] = [
      ['{ rows: [] }', () => ({ rows: [] })],
      ['a promise of { rows: [] }', () => Promise.resolve({ rows: [] })],
      ['1', () => 1],
      ['"false"', () => 'false'],
      ['undefined', () => undefined],
    ];
    for (const [label, answer] of answers) {
      const { pipl, sink, errors } = subjectGuard(keys, { isAuthorizedAgent: answer as () => boolean });
      const app = shopApps(pipl)[framework];
      const asked = await request(app).get('/users/u1/data').set('x-user', 'stranger-3');
      expect(asked.status, label).toBe(503);
      expect(asked.body.code, label).toBe('guard_unavailable');
      expect(String(errors[0]), label).toMatch(/isAuthorizedAgent answered .*, not a boolean/);
      expect(
        decisions(sink).map((r) => r.decision),
        label,
      ).toEqual(['deny']);
      // The subject endpoints ask the same hook: a stranger changes nothing there either.
      const changed = await request(privacyApps(pipl)[framework])
        .put('/privacy/subjects/u1/preferences')
        .set('x-user', 'stranger-3')
        .send({ marketing: false });
      expect(changed.status, label).toBe(503);
      expect(changed.body.code, label).toBe('guard_unavailable');
      expect(
        (await pipl.subjects?.lookup({ subject: 'u1', consentId: undefined, purpose: 'x' }))?.optedOut
          .marketing,
        label,
      ).toBe(false);
    }
  });

  it('an agent hook that never answers → 503 guard_unavailable after lookupTimeoutMs', async () => {
    const { pipl, sink, errors } = subjectGuard(keys, {
      isAuthorizedAgent: () => new Promise<boolean>(() => {}),
      lookupTimeoutMs: 100,
    });
    const asked = await request(shopApps(pipl)[framework]).get('/users/u1/data').set('x-user', 'stranger-3');
    expect(asked.status).toBe(503);
    expect(asked.body.code).toBe('guard_unavailable');
    expect(String(errors[0])).toMatch(/isAuthorizedAgent did not answer within 100 ms/);
    expect(decisions(sink).map((r) => r.reason)).toEqual(['guard_unavailable']);
  });

  it('a `/me` rights route takes the caller as the subject', async () => {
    const { pipl, sink } = subjectGuard(keys);
    const app = shopApps(pipl)[framework];
    expect((await request(app).get('/me/data').set('x-user', 'u7')).body.reason).toBe('rights_request');
    expect(decisions(sink)[0]).toMatchObject({
      subject: hmac('u7'),
      rightsRequest: { kind: 'copy', by: 'subject' },
    });
  });

  it('is not blocked when the withdrawal store is down (it does not depend on consent)', async () => {
    const down = { ...memorySubjectStore(), lookup: () => Promise.reject(new Error('down')) };
    const { pipl } = subjectGuard(keys, { subjects: down });
    const app = shopApps(pipl)[framework];
    expect((await request(app).delete('/users/u1').set('x-user', 'u1')).status).toBe(200);
  });

  it('onWithdraw starts deletion (Art. 47(1)) and the log shows it started; a failing hook is recorded too', async () => {
    const { pipl, sink } = subjectGuard(keys);
    const started: unknown[] = [];
    const app = privacyApps(pipl, async (withdrawal) => {
      started.push(withdrawal);
      if (withdrawal.scope === 'purpose') throw new Error('queue down');
      return { reference: 'job-42' };
    })[framework];
    const all = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'all' });
    expect(all.body.deletion).toEqual({ started: true, reference: 'job-42' });
    const purpose = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'purpose', purpose: 'account.profile' });
    expect(purpose.status).toBe(200);
    expect(purpose.body.deletion).toEqual({ started: false, error: 'on_withdraw_failed' });
    expect(started).toEqual([
      expect.objectContaining({ subject: 'u1', scope: 'all', actor: { id: 'u1' } }),
      expect.objectContaining({ subject: 'u1', scope: 'purpose', purpose: 'account.profile' }),
    ]);
    expect((sink.records as Rec[]).filter((r) => r.type === 'deletion_started')).toEqual([
      expect.objectContaining({
        subject: hmac('u1'),
        scope: 'all',
        reference: 'job-42',
        result: 'done',
        requestId: all.body.requestId,
      }),
      expect.objectContaining({ scope: 'purpose', result: 'failed', reason: 'on_withdraw_failed' }),
    ]);
  });
});

describe('rights request declaration', () => {
  it('an unknown right is a start-up error', () => {
    const { pipl } = subjectGuard(keys);
    expect(() =>
      pipl.requirement('account.rights', { operation: 'use', rightsRequest: 'erasure' as never }),
    ).toThrow(/rightsRequest must be one of access, copy, portability, correction, deletion, explanation/);
  });
});

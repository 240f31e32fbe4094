import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { subjectRoutes as expressSubjectRoutes } from '../../src/adapters/express/index.js';
import { subjectRoutes as koaSubjectRoutes } from '../../src/adapters/koa/index.js';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { type AuditSink, fileAuditSink, memoryAuditSink, memorySubjectStore } from '../../src/index.js';
import { AUDIT_KEY, type Keys, makeKeys } from '../support/fixture.js';
import { consentToken, privacyApps, shopApps, subjectGuard } from './setup.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});
const hmac = createPseudonymizer(AUDIT_KEY);
type Rec = Record<string, unknown>;

describe.each(['express', 'koa'] as const)('subject endpoints (%s)', (framework) => {
  function setup(
    extra: Parameters<typeof subjectGuard>[1] = {},
    onWithdraw?: Parameters<typeof privacyApps>[1],
  ) {
    const built = subjectGuard(keys, extra);
    return {
      ...built,
      app: privacyApps(built.pipl, onWithdraw)[framework],
      shop: shopApps(built.pipl)[framework],
    };
  }
  const events = (sink: { records: readonly unknown[] }, type: string) =>
    (sink.records as Rec[]).filter((r) => r.type === type);

  it('lists the subject’s consents, withdrawals and opt-outs as JSON', async () => {
    const { app } = setup();
    const listed = await request(app).get('/privacy/subjects/u1').set('x-user', 'u1');
    expect(listed.status).toBe(200);
    expect(listed.headers['content-type']).toMatch(/^application\/json/);
    expect(listed.body).toEqual({
      requestId: expect.any(String),
      subject: 'u1',
      consents: [
        {
          id: 'c-u1-a',
          givenAt: 1_700_000_000,
          expiresAt: 4_000_000_000,
          withdrawnAt: null,
          purposes: [
            { purpose: 'account.profile', withdrawnAt: null },
            { purpose: 'marketing.newsletter', withdrawnAt: null },
          ],
        },
      ],
      withdrawnPurposes: [],
      allWithdrawnAt: null,
      optedOut: { personalization: false, marketing: false },
    });
  });

  it('withdraws one consent: the token is refused at once, and the change is audited with who, what and instance', async () => {
    const { app, shop, sink } = setup();
    const token = await consentToken(keys, { consentId: 'c-u1-a' });
    expect((await request(shop).get('/users/u1/profile').set('pipl-consent', token)).status).toBe(200);
    const done = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .set('x-request-id', 'req-w1')
      .send({ scope: 'consent', consentId: 'c-u1-a' });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      requestId: 'req-w1',
      subject: 'u1',
      withdrawal: { scope: 'consent', consentId: 'c-u1-a', at: expect.any(Number) },
      deletion: null,
    });
    expect((await request(shop).get('/users/u1/profile').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
    expect(events(sink, 'consent_withdrawal')).toEqual([
      expect.objectContaining({
        requestId: 'req-w1',
        actor: { id: hmac('u1') },
        subject: hmac('u1'),
        scope: 'consent',
        consentId: 'c-u1-a',
        result: 'done',
        status: 200,
        enforcer: expect.objectContaining({ instance: 'api-1' }),
        time: expect.any(String),
      }),
    ]);
    const listed = await request(app).get('/privacy/subjects/u1').set('x-user', 'u1');
    expect(listed.body.consents[0].withdrawnAt).toBe(done.body.withdrawal.at);
  });

  it('withdraws one purpose, and everything', async () => {
    const { app, shop } = setup();
    const token = await consentToken(keys, { now: Math.floor(Date.now() / 1000) - 5 });
    const purpose = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'purpose', purpose: 'marketing.newsletter' });
    expect(purpose.status).toBe(200);
    expect((await request(shop).get('/users/u1/newsletter').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
    expect((await request(shop).get('/users/u1/profile').set('pipl-consent', token)).status).toBe(200);
    const all = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'all' });
    expect(all.status).toBe(200);
    expect((await request(shop).get('/users/u1/profile').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
  });

  it('opts out of personalisation and back in; the contract-basis ranking follows at once', async () => {
    const { app, shop, sink } = setup();
    const out = await request(app)
      .put('/privacy/subjects/u1/preferences')
      .set('x-user', 'u1')
      .send({ personalization: false });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({
      requestId: expect.any(String),
      subject: 'u1',
      optedOut: { personalization: true, marketing: false },
    });
    expect((await request(shop).get('/users/u1/ranking')).body.code).toBe('personalization_opted_out');
    const back = await request(app)
      .put('/privacy/subjects/u1/preferences')
      .set('x-user', 'u1')
      .send({ personalization: true });
    expect(back.body.optedOut).toEqual({ personalization: false, marketing: false });
    expect((await request(shop).get('/users/u1/ranking')).status).toBe(200);
    expect(events(sink, 'preference_change').map((e) => [e.kind, e.optedOut, e.result])).toEqual([
      ['personalization', true, 'done'],
      ['personalization', false, 'done'],
    ]);
  });

  it('refuses acting on another subject with 403 subject_forbidden, changes nothing, audits the attempt', async () => {
    const { app, pipl, sink } = setup();
    const refused = await request(app)
      .post('/privacy/subjects/u2/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'all' });
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'subject_forbidden', status: 403 });
    expect((await pipl.subjects?.list('u2'))?.allWithdrawnAt).toBeUndefined();
    expect(events(sink, 'consent_withdrawal')).toEqual([
      expect.objectContaining({
        actor: { id: hmac('u1') },
        subject: hmac('u2'),
        result: 'refused',
        reason: 'subject_forbidden',
        status: 403,
      }),
    ]);
    expect((await request(app).get('/privacy/subjects/u2').set('x-user', 'u1')).status).toBe(403);
  });

  it('lets an authorised agent act for the subject', async () => {
    const { app } = setup({
      isAuthorizedAgent: (actor, subject) => actor.id === 'guardian-9' && subject === 'u2',
    });
    const done = await request(app)
      .put('/privacy/subjects/u2/preferences')
      .set('x-user', 'guardian-9')
      .send({ marketing: false });
    expect(done.status).toBe(200);
    expect(
      (
        await request(app)
          .put('/privacy/subjects/u1/preferences')
          .set('x-user', 'guardian-9')
          .send({ marketing: false })
      ).status,
    ).toBe(403);
  });

  it('hooks that hang are bounded by lookupTimeoutMs: authenticate → 503; onWithdraw → withdrawn, deletion not started, onError told', async () => {
    const hung = subjectGuard(keys, { lookupTimeoutMs: 100 });
    const never = () => new Promise<never>(() => {});
    const expressApp = express();
    expressApp.use(expressSubjectRoutes(hung.pipl, { authenticate: never, consents: () => [] }));
    const koaApp = new Koa();
    koaApp.use(koaSubjectRoutes(hung.pipl, { authenticate: never, consents: () => [] }));
    const listener = framework === 'express' ? expressApp : koaApp.callback();
    const refused = await request(listener).put('/subjects/u1/preferences').send({ marketing: false });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('guard_unavailable');
    expect(String(hung.errors[0])).toMatch(/authenticate did not answer within 100 ms/);

    const { app, errors, sink } = setup({ lookupTimeoutMs: 100 }, never);
    const withdrawn = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'all' });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.deletion).toEqual({ started: false, error: 'on_withdraw_failed' });
    expect(String(errors[0])).toMatch(/onWithdraw did not answer within 100 ms/);
    expect((sink.records as Rec[]).filter((r) => r.type === 'deletion_started')).toEqual([
      expect.objectContaining({ result: 'failed', reason: 'on_withdraw_failed' }),
    ]);
  });

  it('a hook that throws: 503 guard_unavailable, nothing changed, and onError is told', async () => {
    const { app, pipl, errors, sink } = setup({
      isAuthorizedAgent: () => {
        throw new Error('agent registry down');
      },
    });
    const refused = await request(app)
      .put('/privacy/subjects/u1/preferences')
      .set('x-user', 'guardian-9')
      .send({ marketing: false });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('guard_unavailable');
    expect(JSON.stringify(refused.body)).not.toContain('agent registry');
    expect(errors.map(String)).toEqual(['Error: agent registry down']);
    // The attempt is on record like every change attempt: failed, and why.
    expect((sink.records as Rec[]).filter((r) => r.type === 'preference_change')).toEqual([
      expect.objectContaining({
        result: 'failed',
        reason: 'guard_unavailable',
        status: 503,
        actor: { id: hmac('guardian-9') },
        subject: hmac('u1'),
      }),
    ]);
    const state = await pipl.subjects?.lookup({ subject: 'u1', consentId: undefined, purpose: 'x' });
    expect(state?.optedOut.marketing).toBe(false);
  });

  it('answers 401 subject_unauthenticated without a caller', async () => {
    const { app } = setup();
    const refused = await request(app).put('/privacy/subjects/u1/preferences').send({ marketing: false });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('subject_unauthenticated');
  });

  it('answers 404 consent_unknown for a consent id the subject does not have (another subject’s too)', async () => {
    const { app, pipl, sink } = setup();
    for (const consentId of ['c-nope', 'c-u2-a']) {
      const refused = await request(app)
        .post('/privacy/subjects/u1/withdrawals')
        .set('x-user', 'u1')
        .send({ scope: 'consent', consentId });
      expect(refused.status, consentId).toBe(404);
      expect(refused.body.code, consentId).toBe('consent_unknown');
    }
    expect(
      pipl.subjects?.lookup({ subject: 'u2', consentId: 'c-u2-a', purpose: 'account.profile' }),
    ).toMatchObject({
      consentWithdrawn: false,
    });
    expect(events(sink, 'consent_withdrawal').map((e) => e.reason)).toEqual([
      'consent_unknown',
      'consent_unknown',
    ]);
  });

  it('answers 400 body_invalid for a malformed body, an unknown field or scope, or no preference', async () => {
    const { app, sink } = setup();
    const bad = [
      ['/withdrawals', 'post', '{not json'],
      ['/withdrawals', 'post', { scope: 'everything' }],
      ['/withdrawals', 'post', { scope: 'all', extra: 1 }],
      ['/withdrawals', 'post', { scope: 'purpose', purpose: 'shop.ranking' }],
      ['/preferences', 'put', {}],
      ['/preferences', 'put', { personalization: 'no' }],
    ] as const;
    for (const [path, method, body] of bad) {
      const sent = request(app)
        [method](`/privacy/subjects/u1${path}`)
        .set('x-user', 'u1')
        .set('content-type', 'application/json');
      const refused = await sent.send(typeof body === 'string' ? body : JSON.stringify(body));
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.code, JSON.stringify(body)).toBe('body_invalid');
    }
    expect([...events(sink, 'consent_withdrawal'), ...events(sink, 'preference_change')]).toHaveLength(6);
  });

  it('answers 503 revocation_unavailable when the store is down, and audits the failed attempt', async () => {
    const failing = { ...memorySubjectStore(), setOptOut: () => Promise.reject(new Error('down')) };
    const { app, sink } = setup({ subjects: failing });
    const refused = await request(app)
      .put('/privacy/subjects/u1/preferences')
      .set('x-user', 'u1')
      .send({ marketing: false });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('revocation_unavailable');
    expect(refused.headers['retry-after']).toBe('5');
    expect(events(sink, 'preference_change')).toEqual([
      expect.objectContaining({ result: 'failed', reason: 'revocation_unavailable' }),
    ]);
  });

  it('answers 503 audit_unavailable and changes nothing while the audit log cannot take records', async () => {
    const inner = memoryAuditSink();
    const broken: AuditSink = {
      append: (event, durable) => inner.append(event, durable),
      noteDropped: (cause) => inner.noteDropped(cause),
      get healthy() {
        return false;
      },
      flush: () => inner.flush(),
      close: () => inner.close(),
    };
    const { app, pipl } = setup({ audit: { sink: broken, subjectKey: AUDIT_KEY } });
    const refused = await request(app)
      .post('/privacy/subjects/u1/withdrawals')
      .set('x-user', 'u1')
      .send({ scope: 'all' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('audit_unavailable');
    expect((await pipl.subjects?.list('u1'))?.allWithdrawnAt).toBeUndefined();
  });

  it('passes other paths and methods on to the application', async () => {
    const { app } = setup();
    expect((await request(app).delete('/privacy/subjects/u1').set('x-user', 'u1')).status).toBe(404);
    expect((await request(app).get('/users/u1/ranking')).status).toBe(200);
  });
});

describe('subject events in a real log', () => {
  it('are chained and verify like every record', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipl-subject-')), 'audit.jsonl');
    const sink = fileAuditSink({ path });
    const { pipl } = subjectGuard(keys, { audit: { sink, subjectKey: AUDIT_KEY, instance: 'api-1' } });
    const app = privacyApps(pipl, () => ({ reference: 'del-1' })).express;
    await request(app).post('/privacy/subjects/u1/withdrawals').set('x-user', 'u1').send({ scope: 'all' });
    await request(app).put('/privacy/subjects/u1/preferences').set('x-user', 'u1').send({ marketing: false });
    await request(app).post('/privacy/subjects/u2/withdrawals').set('x-user', 'u1').send({ scope: 'all' });
    await pipl.close();
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    // writer_start, policy (the rules in force), withdrawal, deletion_started, preference, refused, writer_stop
    expect(report.records.total).toBe(7);
  });
});

import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryRevocationStore, memorySubjectStore } from '../../src/index.js';
import { type Keys, makeKeys } from '../support/fixture.js';
import { consentToken, shopApps, subjectGuard } from './setup.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const NOW = () => Math.floor(Date.now() / 1000);

describe.each(['express', 'koa'] as const)('preference and withdrawal store (%s)', (framework) => {
  function setup() {
    const built = subjectGuard(keys);
    return { ...built, app: shopApps(built.pipl)[framework] };
  }

  it('a stored personalisation opt-out degrades a consent purpose although the token allows it (Art. 24)', async () => {
    const { pipl, app } = setup();
    const token = await consentToken(keys);
    expect((await request(app).get('/users/u1/feed').set('pipl-consent', token)).body.reason).toBe(
      'consent_valid',
    );
    await pipl.subjects?.setOptOut('u1', 'personalization', true);
    const after = await request(app).get('/users/u1/feed').set('pipl-consent', token);
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ reason: 'degraded_personalization_opt_out', degraded: true });
    await pipl.subjects?.setOptOut('u1', 'personalization', false);
    expect((await request(app).get('/users/u1/feed').set('pipl-consent', token)).body.reason).toBe(
      'consent_valid',
    );
  });

  it('a personalisation opt-out applies on a contract basis too (Art. 24(2)): 403 personalization_opted_out', async () => {
    const { pipl, app } = setup();
    expect((await request(app).get('/users/u1/ranking')).body.reason).toBe('lawful_basis');
    await pipl.subjects?.setOptOut('u1', 'personalization', true);
    const refused = await request(app).get('/users/u1/ranking');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('personalization_opted_out');
    // Another subject is not affected.
    expect((await request(app).get('/users/u2/ranking')).status).toBe(200);
  });

  it('a marketing opt-out refuses a marketing purpose with marketing_opted_out', async () => {
    const { pipl, app } = setup();
    const token = await consentToken(keys);
    await pipl.subjects?.setOptOut('u1', 'marketing', true);
    const refused = await request(app).get('/users/u1/newsletter').set('pipl-consent', token);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('marketing_opted_out');
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', token)).status).toBe(200);
  });

  it('withdrawing one purpose refuses that purpose only; a consent given afterwards covers it again', async () => {
    const { pipl, app } = setup();
    const token = await consentToken(keys, { now: NOW() - 10 });
    await pipl.subjects?.withdrawPurpose('u1', 'account.profile', NOW() - 5);
    const refused = await request(app).get('/users/u1/profile').set('pipl-consent', token);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('consent_withdrawn');
    expect((await request(app).get('/users/u1/newsletter').set('pipl-consent', token)).status).toBe(200);
    const fresh = await consentToken(keys, { now: NOW() });
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', fresh)).status).toBe(200);
  });

  it('withdrawing everything refuses every consent issued until then', async () => {
    const { pipl, app } = setup();
    const token = await consentToken(keys, { now: NOW() - 10 });
    await pipl.subjects?.withdrawAll('u1', NOW() - 5);
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
    expect((await request(app).get('/users/u1/newsletter').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
    // Art. 16: a degradable purpose still runs, without the data.
    expect((await request(app).get('/users/u1/feed').set('pipl-consent', token)).body).toEqual({
      reason: 'degraded_no_consent',
      degraded: true,
    });
  });

  it('withdrawing one consent id (pipl.withdraw) refuses that token, not a newer consent', async () => {
    const { pipl, app } = setup();
    const old = await consentToken(keys, { consentId: 'c-old' });
    const other = await consentToken(keys, { consentId: 'c-new' });
    await pipl.withdraw('c-old');
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', old)).body.code).toBe(
      'consent_withdrawn',
    );
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', other)).status).toBe(200);
  });

  it('a store that fails refuses with 503 revocation_unavailable on every basis, never lets through', async () => {
    const broken = {
      ...memorySubjectStore(),
      lookup() {
        throw new Error('store down');
      },
    };
    const { pipl, errors } = subjectGuard(keys, { subjects: broken });
    const app = shopApps(pipl)[framework];
    const token = await consentToken(keys);
    for (const path of ['/users/u1/profile', '/users/u1/feed', '/users/u1/ranking']) {
      const refused = await request(app).get(path).set('pipl-consent', token);
      expect(refused.status, path).toBe(503);
      expect(refused.body.code, path).toBe('revocation_unavailable');
      expect(refused.headers['retry-after'], path).toBeDefined();
    }
    expect(errors.length).toBe(3);
  });
});

describe('subject store options', () => {
  it('refuses `subjects` and `revocations` together at start-up', () => {
    expect(() =>
      subjectGuard(keys, { subjects: memorySubjectStore(), revocations: memoryRevocationStore() }),
    ).toThrow(/`subjects` or `revocations`/);
  });

  it('asks the store once per request, with subject, consent id and purpose', async () => {
    const store = memorySubjectStore();
    const queries: unknown[] = [];
    const counting = {
      ...store,
      lookup(q: Parameters<typeof store.lookup>[0]) {
        queries.push(q);
        return store.lookup(q);
      },
    };
    const { pipl } = subjectGuard(keys, { subjects: counting });
    const app = shopApps(pipl).express;
    await request(app)
      .get('/users/u1/profile')
      .set('pipl-consent', await consentToken(keys, { consentId: 'c-1' }));
    expect(queries).toEqual([{ subject: 'u1', consentId: 'c-1', purpose: 'account.profile' }]);
  });
});

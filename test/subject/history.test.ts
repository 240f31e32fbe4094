import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { subjectHistory } from '../../src/audit/subject-history.js';
import { fileAuditSink } from '../../src/index.js';
import { AUDIT_KEY, type Keys, makeKeys } from '../support/fixture.js';
import { runCli } from '../support/processes.js';
import { consentToken, privacyApps, subjectGuard } from './setup.js';

let keys: Keys;
let log: string;
beforeAll(async () => {
  keys = await makeKeys();
  log = join(mkdtempSync(join(tmpdir(), 'pipl-history-')), 'audit.jsonl');
  const { pipl } = subjectGuard(keys, {
    audit: { sink: fileAuditSink({ path: log }), subjectKey: AUDIT_KEY },
  });
  const app = privacyApps(pipl).express;
  const token = await consentToken(keys);
  await request(app).get('/users/u1/profile').set('pipl-consent', token).expect(200);
  await request(app).post('/users/u1/ship').set('pipl-consent', token).expect(200);
  await request(app).get('/users/u1/profile').set('pipl-consent', token).expect(200);
  await request(app).get('/users/u1/health-nope').expect(404);
  await request(app).get('/users/u1/profile').expect(403); // no token: refused, nothing processed
  await request(app)
    .get('/users/u2/profile')
    .set('pipl-consent', await consentToken(keys, { subject: 'u2' }));
  await request(app)
    .put('/privacy/subjects/u1/preferences')
    .set('x-user', 'u1')
    .send({ personalization: false });
  await request(app).post('/privacy/subjects/u1/withdrawals').set('x-user', 'u1').send({ scope: 'all' });
  await request(app).delete('/users/u1').set('x-user', 'u1').expect(200);
  await pipl.close();
});

describe('subject history (Art. 45)', () => {
  it('lists purposes, categories, operations, recipients and times of one person only', async () => {
    const history = await subjectHistory(log, 'u1', { key: AUDIT_KEY });
    expect(history.subject).toBe(createPseudonymizer(AUDIT_KEY)('u1'));
    expect(history.purposes).toEqual([
      expect.objectContaining({
        purpose: 'account.profile',
        basis: 'consent',
        operations: ['use'],
        categories: ['identity_basic', 'contact'],
        recipients: [],
        count: 2,
      }),
      expect.objectContaining({
        purpose: 'delivery.partner',
        operations: ['provide'],
        recipients: ['SF Express'],
        count: 1,
      }),
      expect.objectContaining({
        purpose: 'account.rights',
        basis: 'statutory',
        operations: ['delete'],
        count: 1,
      }),
    ]);
    expect(history.processing.map((p) => p.text)).toEqual([
      'used identity_basic, contact for account.profile (basis: consent)',
      'provided contact to SF Express for delivery.partner (basis: consent)',
      'used identity_basic, contact for account.profile (basis: consent)',
      'deleted identity_basic, contact, behavior for account.rights (basis: statutory) — deletion request',
    ]);
    expect(history.refused).toBe(1);
    expect(history.changes.map((c) => c.text)).toEqual([
      'opted out of personalisation',
      'withdrew all consents',
    ]);
    expect(history.processing.every((p) => /^\d{4}-\d\d-\d\dT/.test(p.time))).toBe(true);
  });

  it('`pipl-guard audit subject` prints a readable table and JSON, never the clear id', async () => {
    const env = { PIPL_AUDIT_KEY: AUDIT_KEY };
    const table = await runCli(['audit', 'subject', 'u1', log], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(
      'account.profile (basis: consent): use of identity_basic, contact; 2 times',
    );
    expect(table.stdout).toContain(
      'delivery.partner (basis: consent): provide of contact; given to SF Express; 1 time',
    );
    expect(table.stdout).toContain('withdrew all consents');
    expect(table.stdout).not.toMatch(/\bu1\b/);
    const json = await runCli(['audit', 'subject', 'u1', log, '--format', 'json'], env);
    expect(JSON.parse(json.stdout)).toEqual(await subjectHistory(log, 'u1', { key: AUDIT_KEY }));
    // Neither as subject nor as the actor of their own requests is the clear id in the log.
    expect(readFileSync(log, 'utf8')).not.toContain('"u1"');
  });

  it('needs the audit key (exit 2)', async () => {
    const refused = await runCli(['audit', 'subject', 'u1', log], { PIPL_AUDIT_KEY: '' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/PIPL_AUDIT_KEY/);
  });
});

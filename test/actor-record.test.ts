/**
 * What an application hands the guard as "the actor" is its own user object more often than not:
 * `actor: (req) => req.user` type-checks whenever `req.user` has a string `id`, and plain JavaScript
 * apps hand over numeric database ids. The audit log must keep only the actor's id and type (never the
 * email or phone that came along), and a numeric id must not turn the guard's own records into lines
 * the CLI refuses to read.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { expressGuard, subjectRoutes } from '../src/adapters/express/index.js';
import { normalizeActor } from '../src/guard/index.js';
import { createPiplGuard, fileAuditSink } from '../src/index.js';
import { pseudonym } from './support/assertions.js';
import { AUDIT_KEY, guardOptions, makeKeys, tokenFor } from './support/fixture.js';
import { runCli } from './support/processes.js';

/** An application's user: more than the log may hold. */
interface User {
  id: number | string;
  type?: unknown;
  email: string;
  phone: string;
}
const STAFF: User = { id: 42, type: 'staff', email: 'clerk@example.cn', phone: '13800138000' };
const SUBJECT: User = { id: 'user-1', email: 'user1@example.cn', phone: '13900139000' };
const users: Record<string, User> = { staff: STAFF, subject: SUBJECT };

let log: string;

beforeAll(async () => {
  const keys = await makeKeys();
  log = join(mkdtempSync(join(tmpdir(), 'pipl-actor-')), 'audit.jsonl');
  const { options } = guardOptions(keys);
  const pipl = createPiplGuard({
    ...options,
    subjects: undefined,
    revocations: undefined,
    audit: { sink: fileAuditSink({ path: log }), subjectKey: AUDIT_KEY },
  });
  const app = express();
  const userOf = (req: express.Request) => users[String(req.headers['x-user'])];
  // What the misuse looks like in an application: the whole user object as the actor.
  const guard = expressGuard(pipl, { actor: (req) => userOf(req) as { id: string } | undefined });
  app.get(
    '/users/:id/profile',
    guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  app.use(
    subjectRoutes(pipl, {
      authenticate: (req) => userOf(req) as { id: string } | undefined,
      consents: () => [{ id: 'c-actor-1', purposes: ['account.profile'] }],
    }),
  );
  const token = await tokenFor(keys, { consentId: 'c-actor-1' });
  await request(app)
    .get('/users/user-1/profile')
    .set('x-user', 'staff')
    .set('pipl-consent', token)
    .expect(200);
  await request(app).get('/users/user-1/profile').set('x-user', 'staff').expect(403);
  // Without a framework: `pipl.check` from a job, handed the user object as it comes.
  const requirement = pipl.requirement('account.profile', { operation: 'use', route: '/jobs/export' });
  const outcome = await pipl.check(requirement, {
    method: 'GET',
    route: '/jobs/export',
    actor: STAFF as unknown as { id: string },
    header: (name) => (name === 'pipl-consent' ? token : undefined),
    subjectId: 'user-1',
    subjectDeclared: true,
  });
  expect(outcome.error).toBeUndefined();
  await request(app)
    .post('/subjects/user-1/withdrawals')
    .set('x-user', 'subject')
    .send({ scope: 'consent', consentId: 'c-actor-1' })
    .expect(200);
  await pipl.close();
});

describe('normalizeActor', () => {
  it('hands back an actor already in audit form as it is, and builds a clean one from anything else', () => {
    for (const clean of [{ id: 'u1' }, { id: 'u1', type: 'staff' }])
      expect(normalizeActor(clean)).toBe(clean);
    expect(normalizeActor(null)).toBeNull();
    expect(normalizeActor({ ...STAFF })).toEqual({ id: '42', type: 'staff' });
    expect(normalizeActor({ id: 'u1', email: 'a@example.cn' })).toEqual({ id: 'u1' });
    expect(normalizeActor({ id: 'u1', type: 7 })).toEqual({ id: 'u1' });
    expect(normalizeActor('u1')).toEqual({ id: 'u1' });
    expect(normalizeActor(42)).toEqual({ id: '42' });
    for (const none of [undefined, '', {}, { id: '' }, { id: 1.5 }, { id: {} }, [], { id: null }])
      expect(normalizeActor(none)).toBeNull();
  });
});

describe('a numeric subject from the route resolver', () => {
  it('counts as its decimal text: it matches the token subject "42", and is pseudonymised as "42"', async () => {
    const keys = await makeKeys();
    const { options, audit } = guardOptions(keys);
    const pipl = createPiplGuard(options);
    const app = express();
    app.get(
      '/accounts/:n/profile',
      // A database key, as a plain JavaScript app hands it over.
      expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => Number(req.params.n) }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    const token = await tokenFor(keys, { subject: '42' });
    await request(app).get('/accounts/42/profile').set('pipl-consent', token).expect(200);
    const other = await request(app).get('/accounts/43/profile').set('pipl-consent', token);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('subject_mismatch');
    const unreadable = await request(app).get('/accounts/x/profile').set('pipl-consent', token);
    expect(unreadable.body.code).toBe('subject_unresolved');
    const [first] = (audit.records as { type: string; subject: string | null }[]).filter(
      (r) => r.type === 'decision',
    );
    expect(first?.subject).toBe(pseudonym('42'));
  });
});

describe('the actor in the audit log', () => {
  it('keeps only the id (a numeric one as text) and the type of what the resolver returned', () => {
    const text = readFileSync(log, 'utf8');
    for (const leaked of [STAFF.email, STAFF.phone, SUBJECT.email, SUBJECT.phone])
      expect(text).not.toContain(leaked);
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; actor?: unknown });
    const decisions = records.filter((r) => r.type === 'decision');
    expect(decisions).toHaveLength(3);
    for (const decision of decisions) expect(decision.actor).toEqual({ id: '42', type: 'staff' });
    const [withdrawal] = records.filter((r) => r.type === 'consent_withdrawal');
    // The subject acting for themselves: their id, pseudonymised like every subject id, and nothing else.
    expect(withdrawal?.actor).toEqual({ id: expect.stringMatching(/^hmac-sha256:/) });
  });

  it('leaves lines the CLI reads as records (exit 0)', async () => {
    const result = await runCli(['audit', 'query', log, '--format', 'jsonl']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(5);
  });
});

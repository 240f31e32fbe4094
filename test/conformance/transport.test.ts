import { describe, expect, it } from 'vitest';
import type { AuditRecord, ReasonCode, TokenLocation } from '../../src/index.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { expectDenialHeaders, expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, tokenFor } from '../support/fixture.js';

const keys = await makeKeys();
const token = await tokenFor(keys);
/** A second valid token for the same subject: an attacker's choice between two credentials. */
const other = await tokenFor(keys, { consentId: 'other-consent' });
const PROFILE = '/users/user-1/profile';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface LocationCase {
  name: string;
  location: TokenLocation;
  headers: (token: string) => Record<string, string | string[]>;
  expect: ReasonCode;
  scheme?: string;
}

const LOCATIONS: readonly LocationCase[] = [
  {
    name: 'token in the header and in the cookie (cookie enabled)',
    location: { cookie: 'pipl_consent' },
    headers: (t) => ({ 'pipl-consent': t, cookie: `pipl_consent=${t}` }),
    expect: 'token_ambiguous',
  },
  {
    name: 'token in the cookie alone (cookie enabled)',
    location: { cookie: 'pipl_consent' },
    headers: (t) => ({ cookie: `theme=dark; pipl_consent=${t}` }),
    expect: 'consent_valid',
  },
  {
    name: 'consent cookie sent twice',
    location: { cookie: 'pipl_consent' },
    headers: (t) => ({ cookie: `pipl_consent=${t}; pipl_consent=${t}` }),
    expect: 'token_ambiguous',
  },
  {
    name: 'cookie is ignored unless enabled',
    location: {},
    headers: (t) => ({ cookie: `pipl_consent=${t}` }),
    expect: 'consent_required',
  },
  {
    name: 'Authorization Bearer (enabled)',
    location: { header: false, authorization: true },
    headers: (t) => ({ authorization: `Bearer ${t}` }),
    expect: 'consent_valid',
  },
  {
    name: 'Authorization Bearer with a malformed token challenges with the Bearer scheme',
    location: { header: false, authorization: true },
    headers: () => ({ authorization: 'Bearer not-a-jws' }),
    expect: 'token_malformed',
    scheme: 'Bearer',
  },
  {
    name: 'Authorization Bearer is ignored unless enabled',
    location: {},
    headers: (t) => ({ authorization: `Bearer ${t}` }),
    expect: 'consent_required',
  },
  {
    name: 'Authorization Bearer and the consent header together',
    location: { authorization: true },
    headers: (t) => ({ authorization: `Bearer ${t}`, 'pipl-consent': t }),
    expect: 'token_ambiguous',
  },
  {
    name: 'consent header sent twice',
    location: {},
    headers: (t) => ({ 'pipl-consent': [t, t] }),
    expect: 'token_ambiguous',
  },
  // Issue 6 item 14. Node keeps only the first of duplicate Authorization headers in `req.headers`,
  // so a second credential went unseen: the guard must read every value the client sent.
  {
    name: 'two Authorization headers with different tokens',
    location: { header: false, authorization: true },
    headers: (t) => ({ authorization: [`Bearer ${t}`, `Bearer ${other}`] }),
    expect: 'token_ambiguous',
    scheme: 'Bearer',
  },
  {
    name: 'two Authorization headers with the same token',
    location: { header: false, authorization: true },
    headers: (t) => ({ authorization: [`Bearer ${t}`, `Bearer ${t}`] }),
    expect: 'token_ambiguous',
    scheme: 'Bearer',
  },
  {
    name: 'two Authorization headers, the first not a Bearer token',
    location: { authorization: true },
    headers: (t) => ({ authorization: ['Basic dXNlcjpwYXNz', `Bearer ${t}`] }),
    expect: 'token_ambiguous',
  },
  {
    name: 'two consent headers with different tokens',
    location: {},
    headers: (t) => ({ 'pipl-consent': [t, other] }),
    expect: 'token_ambiguous',
  },
  {
    name: 'the consent cookie split over two Cookie header lines (as HTTP/2 does) is one cookie',
    location: { cookie: 'pipl_consent' },
    headers: (t) => ({ cookie: ['theme=dark', `pipl_consent=${t}`] }),
    expect: 'consent_valid',
  },
];

for (const framework of FRAMEWORKS) {
  describe(`conformance token locations (${framework})`, () => {
    for (const c of LOCATIONS) {
      it(`${c.name} → ${c.expect}`, async () => {
        const setup = guardOptions(keys, { token: c.location });
        const apps = buildApps(setup);
        const res = await send(apps[framework], { path: PROFILE, headers: c.headers(token) });
        if (c.expect === 'consent_valid') {
          expect(res.status).toBe(200);
          expect(res.body.reason).toBe('consent_valid');
          expect(apps.calls[framework]).toBe(1);
          expectOneAudit(setup.audit.records, { decision: 'allow', reason: c.expect, subject: 'user-1' }, [
            token,
          ]);
        } else {
          expectProblem(res, c.expect, c.scheme);
          expect(apps.calls[framework]).toBe(0);
          expectOneAudit(setup.audit.records, { decision: 'deny', reason: c.expect, subject: 'user-1' }, [
            token,
          ]);
        }
      });
    }

    // Issue 6 item 14: the client's x-request-id is its own label, kept apart; the guard always pairs
    // decision and outcome records on an id it generated.
    it('keeps a well-formed x-request-id as clientRequestId, next to a request id of its own', async () => {
      const setup = guardOptions(keys);
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, headers: { 'x-request-id': 'req-42.a:b_c' } });
      expectProblem(res, 'consent_required');
      expect(res.body.requestId).toMatch(UUID_V7);
      expect(decisionsOf(setup.audit.records)[0]).toMatchObject({
        requestId: res.body.requestId,
        clientRequestId: 'req-42.a:b_c',
      });
    });

    it('drops an x-request-id that could inject into logs', async () => {
      const setup = guardOptions(keys);
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, headers: { 'x-request-id': 'a b<script>' } });
      expectProblem(res, 'consent_required');
      expect(res.body.requestId).toMatch(UUID_V7);
      expect(decisionsOf(setup.audit.records)[0]).toMatchObject({ requestId: res.body.requestId });
      expect(JSON.stringify(setup.audit.records)).not.toContain('script');
    });

    it('two requests with the same x-request-id get distinct request ids; decisions and outcomes pair', async () => {
      const setup = guardOptions(keys);
      const apps = buildApps(setup);
      const headers = { 'x-request-id': 'same-id' };
      const first = await send(apps[framework], { path: PROFILE, token, headers });
      const second = await send(apps[framework], { path: PROFILE, token, headers });
      expect([first.status, second.status]).toEqual([200, 200]);
      await new Promise((resolve) => setImmediate(resolve)); // outcomes are written when responses close
      const records = setup.audit.records as AuditRecord[];
      const decisions = records.filter((r) => r.type === 'decision');
      const outcomes = records.filter((r) => r.type === 'outcome');
      expect(decisions).toHaveLength(2);
      expect(outcomes).toHaveLength(2);
      const ids = decisions.map((d) => d.requestId);
      expect(new Set(ids).size).toBe(2);
      for (const decision of decisions) {
        expect(decision).toMatchObject({ clientRequestId: 'same-id' });
        expect(outcomes.filter((o) => o.requestId === decision.requestId)).toHaveLength(1);
      }
    });
  });
}

/** Denials routed through error middleware instead of being answered by the guard. */
const DENIALS: readonly { name: string; token?: string; code: ReasonCode }[] = [
  { name: 'missing token', code: 'consent_required' },
  { name: 'malformed token', token: 'only-one-segment', code: 'token_malformed' },
  { name: 'token for another subject', token, code: 'subject_mismatch' },
];

const INTEGRATION = {
  express: { library: "errors: 'next' + piplProblemHandler()", custom: "errors: 'next' + app error handler" },
  koa: { library: "errors: 'throw' + piplProblems()", custom: "errors: 'throw' + app try/catch" },
} as const;

// Error modes are options of the Express and Koa middleware API.
for (const framework of ['express', 'koa'] as const) {
  for (const mode of ['library', 'custom'] as const) {
    describe(`error integration (${framework}, ${INTEGRATION[framework][mode]})`, () => {
      for (const denial of DENIALS) {
        it(`${denial.name} → ${denial.code}`, async () => {
          const setup = guardOptions(keys);
          const apps = buildApps(setup, mode);
          const path = denial.code === 'subject_mismatch' ? '/users/user-2/profile' : PROFILE;
          const res = await send(apps[framework], { path, ...(denial.token ? { token: denial.token } : {}) });
          const subject = denial.code === 'subject_mismatch' ? 'user-2' : 'user-1';
          const record = expectOneAudit(
            setup.audit.records,
            { decision: 'deny', reason: denial.code, subject },
            [token],
          );
          if (mode === 'library') {
            expectProblem(res, denial.code);
            // Same body as when the guard answers itself: it correlates with the audit record.
            expect(res.body.requestId).toBe(record.requestId);
          } else {
            expect(res.status).toBe(res.body.status);
            expect(res.body).toEqual({ handledBy: 'app', status: res.status, code: denial.code });
            expectDenialHeaders(res, denial.code);
          }
          expect(apps.calls[framework]).toBe(0);
        });
      }

      it('lets an allowed request through to the handler', async () => {
        const setup = guardOptions(keys);
        const apps = buildApps(setup, mode);
        const res = await send(apps[framework], { path: PROFILE, token });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ reason: 'consent_valid', degraded: false });
        expect(apps.calls[framework]).toBe(1);
      });
    });
  }
}

/** Decision records only: the guard also logs its policy once when it starts. */
function decisionsOf(records: readonly unknown[]) {
  return records.filter((record) => (record as { type?: string }).type === 'decision');
}

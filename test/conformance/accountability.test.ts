import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import {
  type AuditRecord,
  createPiplGuard,
  type DecisionEvent,
  definePolicy,
  type IssueConsentOptions,
  memoryAuditSink,
  type PiplGuardOptions,
  type PolicyEvent,
} from '../../src/index.js';
import { MIDDLEWARE_FRAMEWORKS as FRAMEWORKS } from '../support/apps.js';
import { expectProblem, pseudonym, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';
import { buildLawApps, type LawRoute } from '../support/law-apps.js';

// Request-time law over HTTP, on Express and Koa: entrustment (Art. 21), what each record proves
// (Art. 23, 55-56, 69), material-change re-consent (Art. 14(2)), Art. 27, 31 and 51.
const keys = await makeKeys();

const policy = definePolicy({
  notice: { id: 'acct-notice', version: 5 },
  categories: { contact: { sensitive: false, roles: ['support', 'ops'] } },
  purposes: {
    'ops.hosting': {
      basis: 'consent',
      categories: ['contact', 'medical_health'],
      operations: ['entrust'],
      necessaryForService: true,
      piaRef: 'PIA-HOST-1',
      processors: [{ name: 'CloudOps Ltd', contractRef: 'DPA-2026-09' }],
      changedAt: 3,
    },
    'partner.delivery': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-DLV-1',
    },
    'profile.view': {
      basis: 'consent',
      categories: ['identity_basic'],
      operations: ['use'],
      necessaryForService: true,
      changedAt: 5, // notice v5 added a new use: older consent must be renewed
    },
    'kids.reading': {
      basis: 'consent',
      categories: ['identity_basic'],
      operations: ['use'],
      necessaryForService: true,
      childrenUnder14: true,
      piaRef: 'PIA-KIDS-1',
    },
    'press.quotes': {
      basis: 'public_info',
      categories: ['identity_basic'],
      operations: ['use'],
      necessaryForService: false,
    },
  },
});

const ROUTES: LawRoute[] = [
  {
    method: 'post',
    path: '/users/:id/host',
    purpose: 'ops.hosting',
    requirement: { operation: 'entrust', processor: 'CloudOps Ltd', categories: ['contact'] },
    subject: true,
  },
  {
    method: 'post',
    path: '/users/:id/ship',
    purpose: 'partner.delivery',
    requirement: { operation: 'provide', recipient: 'SF Express' },
    subject: true,
  },
  {
    method: 'get',
    path: '/users/:id/profile',
    purpose: 'profile.view',
    requirement: { operation: 'use' },
    subject: true,
  },
  {
    method: 'get',
    path: '/users/:id/reading',
    purpose: 'kids.reading',
    requirement: { operation: 'use' },
    subject: true,
  },
  {
    method: 'get',
    path: '/people/:id/quotes',
    purpose: 'press.quotes',
    requirement: { operation: 'use' },
    subject: true,
  },
];

function setup(extra: Partial<PiplGuardOptions<string, string>> = {}) {
  const audit = memoryAuditSink();
  const guard = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    audit: { sink: audit, subjectKey: AUDIT_KEY },
    ...extra,
  } as PiplGuardOptions<string, string>);
  return { audit, apps: buildLawApps(guard as never, ROUTES) };
}

const decisions = (records: readonly unknown[]) =>
  (records as AuditRecord[]).filter((r): r is AuditRecord & DecisionEvent => r.type === 'decision');

const token = (grants: IssueConsentOptions['grants'], extra: Partial<IssueConsentOptions> = {}) =>
  tokenFor(keys, { notice: { id: 'acct-notice', version: 5 }, grants, ...extra });

for (const framework of FRAMEWORKS) {
  describe(`accountability and request-time law (${framework})`, () => {
    it('entrust: general consent suffices, and the record names processor, contract, piaRef, notice, givenAt and policy', async () => {
      const { audit, apps } = setup();
      const res = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/host',
        headers: { 'x-actor-role': 'ops' },
        token: await token([
          {
            purpose: 'ops.hosting',
            categories: ['contact'],
            ops: ['use'],
            consentType: 'general',
            givenAt: 1_790_000_000,
          },
        ]),
      });
      expect(res.status).toBe(200);
      expect(res.body.reason).toBe('consent_valid');
      const [record] = decisions(audit.records);
      expect(record).toMatchObject({
        operation: 'entrust',
        recipient: { name: 'CloudOps Ltd', role: 'processor', contractRef: 'DPA-2026-09' },
        piaRef: 'PIA-HOST-1',
        policy: policy.digest,
        consent: { noticeId: 'acct-notice', noticeVersion: 5, givenAt: 1_790_000_000, type: 'general' },
      });
    });

    it('provide: the record names the receiving handler; Art. 23 separate consent has its own code', async () => {
      const { audit, apps } = setup();
      const grant = {
        purpose: 'partner.delivery',
        categories: ['contact'],
        ops: ['provide'] as const,
        recipients: [{ name: 'SF Express' }],
      };
      const general = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/ship',
        headers: { 'x-actor-role': 'support' },
        token: await token([{ ...grant, ops: ['provide'], consentType: 'general' }]),
      });
      expectProblem(general, 'provision_separate_consent_required');
      const separate = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/ship',
        headers: { 'x-actor-role': 'support' },
        token: await token([{ ...grant, ops: ['provide'], consentType: 'separate' }]),
      });
      expect(separate.status).toBe(200);
      for (const record of decisions(audit.records)) {
        expect(record.recipient).toEqual({ name: 'SF Express', role: 'handler' });
        expect(record.piaRef).toBe('PIA-DLV-1');
      }
    });

    it('logs the full policy once per writer start; its digest is the one every decision names', async () => {
      const { audit, apps } = setup();
      const headers = { 'x-actor-role': 'ops' };
      const t = await token([
        { purpose: 'ops.hosting', categories: ['contact'], ops: ['use'], consentType: 'general' },
      ]);
      await send(apps[framework], { method: 'post', path: '/users/user-1/host', headers, token: t });
      await send(apps[framework], { method: 'post', path: '/users/user-1/host', headers, token: t });
      const policies = (audit.records as AuditRecord[]).filter(
        (r): r is AuditRecord & PolicyEvent => r.type === 'policy',
      );
      expect(policies).toHaveLength(1);
      const [logged] = policies;
      expect(logged?.digest).toBe(
        `sha256:${createHash('sha256').update(canonicalize(logged?.policy)).digest('hex')}`,
      );
      expect(logged?.policy).toMatchObject({ purposes: { 'ops.hosting': { piaRef: 'PIA-HOST-1' } } });
      expect(decisions(audit.records).map((r) => r.policy)).toEqual([logged?.digest, logged?.digest]);
    });

    it('Art. 51: a role the category does not allow is refused and audited with its actor', async () => {
      const { audit, apps } = setup();
      const t = await token([
        { purpose: 'ops.hosting', categories: ['contact'], ops: ['use'], consentType: 'general' },
      ]);
      const res = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/host',
        headers: { 'x-actor-role': 'marketing' },
        token: t,
      });
      expectProblem(res, 'actor_not_authorized');
      expect(apps.calls[framework]).toBe(0);
      expect(decisions(audit.records)[0]).toMatchObject({
        reason: 'actor_not_authorized',
        actor: { id: 'staff-1', type: 'marketing' },
      });
    });

    it('Art. 14(2): only a purpose changed since the consent asks for re-consent', async () => {
      const { apps } = setup();
      const v4 = { notice: { id: 'acct-notice', version: 4 } };
      // ops.hosting last changed at v3: consent under v4 stands (a typo-only bump to v5).
      const hosting = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/host',
        headers: { 'x-actor-role': 'ops' },
        token: await token(
          [{ purpose: 'ops.hosting', categories: ['contact'], ops: ['use'], consentType: 'general' }],
          v4,
        ),
      });
      expect(hosting.status).toBe(200);
      // profile.view changed at v5: consent under v4 must be renewed.
      const profile = await send(apps[framework], {
        path: '/users/user-1/profile',
        token: await token(
          [{ purpose: 'profile.view', categories: ['identity_basic'], ops: ['use'], consentType: 'general' }],
          v4,
        ),
      });
      expectProblem(profile, 'reconsent_required');
    });

    it('Art. 31: a children purpose refuses a token labelled adult, and audits the guardian pseudonymised', async () => {
      const { audit, apps } = setup();
      const grants = [
        {
          purpose: 'kids.reading',
          categories: ['identity_basic'],
          ops: ['use'] as ['use'],
          consentType: 'guardian' as const,
        },
      ];
      const guardian = { id: 'parent-9', method: 'written' as const };
      const adult = await send(apps[framework], {
        path: '/users/child-1/reading',
        token: await token(grants, { subject: 'child-1', ageBand: 'adult', guardian }),
      });
      expectProblem(adult, 'age_band_mismatch');
      const child = await send(apps[framework], {
        path: '/users/child-1/reading',
        token: await token(grants, { subject: 'child-1', ageBand: 'under14', guardian }),
      });
      expect(child.status).toBe(200);
      const [, allowed] = decisions(audit.records);
      expect(allowed?.consent?.guardian).toBe(pseudonym('parent-9'));
      expect(JSON.stringify(audit.records)).not.toContain('parent-9');
    });

    it('Art. 27: public_info honours the subject’s explicit refusal', async () => {
      const refused = new Set(['person-2']);
      const { apps } = setup({ publicInfoRefusals: (subject) => refused.has(subject) });
      const ok = await send(apps[framework], { path: '/people/person-1/quotes' });
      expect(ok.status).toBe(200);
      expectProblem(await send(apps[framework], { path: '/people/person-2/quotes' }), 'public_info_refused');
      const failing = setup({ publicInfoRefusals: () => Promise.reject(new Error('store down')) });
      expectProblem(
        await send(failing.apps[framework], { path: '/people/person-1/quotes' }),
        'guard_unavailable',
      );
    });

    it('Art. 27: a refusal look-up that never answers stops the request (503) after lookupTimeoutMs', async () => {
      const errors: unknown[] = [];
      const hung = setup({
        publicInfoRefusals: () => new Promise<boolean>(() => {}),
        lookupTimeoutMs: 100,
        onError: (error: unknown) => void errors.push(error),
      });
      expectProblem(
        await send(hung.apps[framework], { path: '/people/person-2/quotes' }),
        'guard_unavailable',
      );
      expect(String(errors[0])).toMatch(/publicInfoRefusals did not answer within 100 ms/);
    });

    it('Art. 27: a refusal look-up that answers anything but a boolean stops the request (503), never lets it through', async () => {
      // Redis's SISMEMBER answers 1 for a refusal, a hook that forgot `return` answers undefined:
      // read as "not refused", both would process the information of a subject who refused.
      const answers: [string, () => unknown][] = [
        ['1 (SISMEMBER)', () => 1],
        ['a promise of 1', () => Promise.resolve(1)],
        ['undefined', () => undefined],
        ['"true"', () => 'true'],
        ['a promise of null', () => Promise.resolve(null)],
      ];
      for (const [label, answer] of answers) {
        const errors: unknown[] = [];
        const misused = setup({
          publicInfoRefusals: answer as () => boolean,
          onError: (error: unknown) => void errors.push(error),
        });
        const response = await send(misused.apps[framework], { path: '/people/person-2/quotes' });
        expect(response.status, label).toBe(503);
        expectProblem(response, 'guard_unavailable');
        expect(errors, label).toHaveLength(1);
        expect(String(errors[0]), label).toMatch(/publicInfoRefusals answered .*, not a boolean/);
      }
    });
  });
}

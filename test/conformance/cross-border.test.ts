import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AuditRecord,
  createPiplGuard,
  type DecisionEvent,
  definePolicy,
  memoryAuditSink,
} from '../../src/index.js';
import { MIDDLEWARE_FRAMEWORKS as FRAMEWORKS } from '../support/apps.js';
import { expectProblem, pseudonym, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';
import { buildLawApps, type LawRoute } from '../support/law-apps.js';

// Art. 38–39 over HTTP: the company's declared mechanism, valid on the guard's clock, and the
// subject's consent naming country and recipient. Time is faked (Date only, so sockets still run).
const keys = await makeKeys();

const policy = definePolicy({
  notice: { id: 'test-notice', version: 2 },
  purposes: {
    'support.overseas': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['cross_border'],
      necessaryForService: false,
      piaRef: 'PIA-XB-1',
      transfers: [
        {
          country: 'SG',
          recipient: 'Acme SG Support',
          mechanism: 'standard_contract',
          reference: 'SC-2026-0001',
          validFrom: '2026-01-01',
          validUntil: '2026-12-31',
        },
        {
          country: 'US',
          recipient: 'Acme US Analytics',
          mechanism: 'certification',
          reference: 'CERT-2024-7',
          validFrom: '2024-01-01',
          validUntil: '2025-12-31',
        },
        {
          country: 'DE',
          recipient: 'Acme GmbH',
          mechanism: 'security_assessment',
          reference: 'CAC-SA-2027-3',
          validFrom: '2027-01-01',
          validUntil: '2029-12-31',
        },
      ],
    },
    'hr.overseas': {
      basis: 'contract',
      categories: ['employment'],
      operations: ['cross_border'],
      necessaryForService: true,
      piaRef: 'PIA-XB-2',
      transfers: [
        {
          country: 'MY',
          recipient: 'Acme MY HR',
          mechanism: 'exemption',
          exemption: 'hr_management',
          reference: 'XB-EXEMPT-HR-1',
          validFrom: '2026-01-01T00:00:00+08:00',
          validUntil: '2027-06-30T23:59:59+08:00',
        },
      ],
    },
  },
});

const overseas = (country: string, recipient: string): LawRoute => ({
  method: 'post',
  path: `/users/:id/overseas/${country.toLowerCase()}`,
  purpose: 'support.overseas',
  requirement: { operation: 'cross_border', crossBorder: { country, recipient } },
  subject: true,
});

const ROUTES: LawRoute[] = [
  overseas('SG', 'Acme SG Support'),
  overseas('US', 'Acme US Analytics'),
  overseas('DE', 'Acme GmbH'),
  overseas('JP', 'Acme KK'), // declared nowhere
  {
    method: 'post',
    path: '/staff/:id/hr-sync',
    purpose: 'hr.overseas',
    requirement: { operation: 'cross_border', crossBorder: { country: 'MY', recipient: 'Acme MY HR' } },
    subject: true,
  },
];

function setup() {
  const audit = memoryAuditSink();
  const guard = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    audit: { sink: audit, subjectKey: AUDIT_KEY },
  });
  return { audit, apps: buildLawApps(guard as never, ROUTES) };
}

/** A separate consent naming one destination; `mechanism` is what a token might (falsely) claim. */
function consentTo(country: string, recipient: string, mechanism?: string) {
  return tokenFor(keys, {
    grants: [
      {
        purpose: 'support.overseas',
        categories: ['contact'],
        ops: ['cross_border'],
        consentType: 'separate',
        crossBorder: { country, recipient, ...(mechanism ? { mechanism } : {}) },
      },
    ],
  });
}

function decisions(records: readonly unknown[]) {
  return (records as AuditRecord[]).filter((r): r is AuditRecord & DecisionEvent => r.type === 'decision');
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-06-01T12:00:00+08:00'));
});
afterEach(() => {
  vi.useRealTimers();
});

for (const framework of FRAMEWORKS) {
  describe(`cross-border transfers (${framework})`, () => {
    it('allows a declared, valid mechanism with consent naming country and recipient, and audits it', async () => {
      const { audit, apps } = setup();
      const res = await send(apps[framework], {
        method: 'post',
        path: '/users/user-1/overseas/sg',
        token: await consentTo('SG', 'Acme SG Support'),
      });
      expect(res.status).toBe(200);
      expect(res.body.reason).toBe('consent_valid');
      const [record] = decisions(audit.records);
      expect(record?.transfer).toEqual({
        country: 'SG',
        recipient: 'Acme SG Support',
        mechanism: 'standard_contract',
        reference: 'SC-2026-0001',
        sensitive: false,
      });
      expect(record?.piaRef).toBe('PIA-XB-1');
      expect(record?.policy).toBe(policy.digest);
      expect(record?.subject).toBe(pseudonym('user-1'));
    });

    it('refuses once the mechanism expired on the guard clock (date = whole day, China Standard Time)', async () => {
      const { audit, apps } = setup();
      vi.setSystemTime(new Date('2026-12-31T23:59:59.000+08:00'));
      // A token issued now, good for a minute: only the mechanism's validity changes below.
      const token = await consentTo('SG', 'Acme SG Support');
      vi.setSystemTime(new Date('2026-12-31T23:59:59.999+08:00'));
      const last = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/sg', token });
      expect(last.status).toBe(200);
      vi.setSystemTime(new Date('2027-01-01T00:00:00.000+08:00'));
      const after = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/sg', token });
      expectProblem(after, 'transfer_mechanism_expired');
      expect(apps.calls[framework]).toBe(1);
      const [, denied] = decisions(audit.records);
      expect(denied).toMatchObject({ decision: 'deny', reason: 'transfer_mechanism_expired' });
      expect(denied?.transfer).toEqual({ country: 'SG', recipient: 'Acme SG Support', sensitive: false });
    });

    it('refuses an expired mechanism although the token claims a security assessment', async () => {
      const { apps } = setup();
      const token = await consentTo('US', 'Acme US Analytics', 'security_assessment');
      const res = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/us', token });
      expectProblem(res, 'transfer_mechanism_expired');
      expect(apps.calls[framework]).toBe(0);
    });

    it('refuses an undeclared destination whatever mechanism the token forges', async () => {
      const { audit, apps } = setup();
      for (const mechanism of ['security_assessment', 'standard_contract', 'other', undefined]) {
        const token = await consentTo('JP', 'Acme KK', mechanism);
        const res = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/jp', token });
        expectProblem(res, 'transfer_not_declared');
      }
      expect(apps.calls[framework]).toBe(0);
      expect(decisions(audit.records).map((r) => r.reason)).toEqual(Array(4).fill('transfer_not_declared'));
    });

    it('refuses a mechanism that is not valid yet', async () => {
      const { apps } = setup();
      const token = await consentTo('DE', 'Acme GmbH');
      const res = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/de', token });
      expectProblem(res, 'transfer_mechanism_not_yet_valid');
    });

    it('refuses a valid mechanism when the consent names another destination (Art. 39)', async () => {
      const { apps } = setup();
      const token = await consentTo('SG', 'Someone Else Pte');
      const res = await send(apps[framework], { method: 'post', path: '/users/user-1/overseas/sg', token });
      expectProblem(res, 'cross_border_not_granted');
    });

    it('checks the mechanism for a non-consent basis too, and audits the exemption', async () => {
      const { audit, apps } = setup();
      const ok = await send(apps[framework], { method: 'post', path: '/staff/e-1/hr-sync' });
      expect(ok.status).toBe(200);
      expect(ok.body.reason).toBe('lawful_basis');
      expect(decisions(audit.records)[0]?.transfer).toEqual({
        country: 'MY',
        recipient: 'Acme MY HR',
        mechanism: 'exemption',
        exemption: 'hr_management',
        reference: 'XB-EXEMPT-HR-1',
        sensitive: false,
      });
      vi.setSystemTime(new Date('2027-07-01T00:00:00+08:00'));
      const late = await send(apps[framework], { method: 'post', path: '/staff/e-1/hr-sync' });
      expectProblem(late, 'transfer_mechanism_expired');
    });
  });
}

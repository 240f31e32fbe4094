import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  type AuditRecord,
  createPiplGuard,
  definePolicy,
  memoryAuditSink,
  type OutcomeEvent,
  pii,
  schemaCategories,
} from '../../src/index.js';
import { MIDDLEWARE_FRAMEWORKS as FRAMEWORKS } from '../support/apps.js';
import { expectProblem, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';
import { buildLawApps, type LawRoute } from '../support/law-apps.js';

// Art. 5-6 over HTTP: the response leaves with only the fields of categories the decision covered.
const keys = await makeKeys();

const Profile = z.object({
  id: z.string(),
  name: pii(z.string(), 'identity_basic'),
  phone: z.string().meta({ pii: 'contact' }),
  visits: z.array(z.object({ at: z.string(), diagnosis: pii(z.string(), 'medical_health') })),
});
const body = () => ({
  id: 'u1',
  name: 'Li Lei',
  phone: '13800000000',
  visits: [{ at: '2026-01-02', diagnosis: 'flu' }],
  internal: 'unclassified',
});

const policy = definePolicy({
  notice: { id: 'n', version: 1 },
  purposes: {
    'clinic.profile': {
      basis: 'consent',
      categories: [...schemaCategories(Profile)] as ('identity_basic' | 'contact' | 'medical_health')[],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-CLINIC',
    },
    'clinic.marketing': {
      basis: 'consent',
      categories: ['identity_basic', 'contact'],
      operations: ['use'],
      necessaryForService: false,
      onMissingConsent: 'degrade',
    },
  },
});

const ROUTES: LawRoute[] = [
  {
    method: 'get',
    path: '/users/:id/card',
    purpose: 'clinic.profile',
    // The route touches only name and phone: diagnoses are outside its scope, whatever the handler returns.
    requirement: {
      operation: 'use',
      categories: ['identity_basic', 'contact'],
      response: { schema: Profile },
    },
    subject: true,
    body,
  },
  {
    method: 'get',
    path: '/users/:id/card-strict',
    purpose: 'clinic.profile',
    requirement: {
      operation: 'use',
      categories: ['identity_basic', 'contact'],
      response: { schema: Profile, uncovered: 'refuse' },
    },
    subject: true,
    body,
  },
  {
    method: 'get',
    path: '/users/:id/offers',
    purpose: 'clinic.marketing',
    requirement: {
      operation: 'use',
      response: { schema: Profile.pick({ id: true, name: true, phone: true }) },
    },
    subject: true,
    body: () => ({ id: 'u1', name: 'Li Lei', phone: '138' }),
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

const token = () =>
  tokenFor(keys, {
    notice: { id: 'n', version: 1 },
    grants: [
      {
        purpose: 'clinic.profile',
        categories: ['identity_basic', 'contact'],
        ops: ['use'],
        consentType: 'general',
      },
    ],
  });

async function outcomeOf(records: readonly unknown[]): Promise<OutcomeEvent> {
  // The outcome is written when the response closes, which may be just after the client read it.
  return vi.waitFor(() => {
    const found = (records as AuditRecord[]).find((r) => r.type === 'outcome');
    if (!found) throw new Error('no outcome yet');
    return found as OutcomeEvent;
  });
}

for (const framework of FRAMEWORKS) {
  describe(`response minimum scope (${framework})`, () => {
    it('removes fields of categories the decision did not cover, nested arrays included, and audits the paths', async () => {
      const { audit, apps } = setup();
      const res = await send(apps[framework], {
        path: '/users/user-1/card',
        token: await token(),
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: 'u1',
        name: 'Li Lei',
        phone: '13800000000',
        visits: [{ at: '2026-01-02' }],
      });
      expect((await outcomeOf(audit.records)).withheld).toEqual(['/visits/0/diagnosis', '/internal']);
    });

    it('refuses instead, when the route says so', async () => {
      const { audit, apps } = setup();
      const res = await send(apps[framework], { path: '/users/user-1/card-strict', token: await token() });
      expectProblem(res, 'category_not_granted');
      expect(JSON.stringify(res.body)).not.toContain('flu');
      const outcome = await outcomeOf(audit.records);
      expect(outcome.status).toBe(403);
      expect(outcome.withheld).toEqual(['/visits/0/diagnosis', '/internal']);
    });

    it('a degraded decision covers no category: the handler’s PI never leaves (Art. 16)', async () => {
      const { apps } = setup();
      const res = await send(apps[framework], { path: '/users/user-1/offers' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 'u1' });
    });
  });
}

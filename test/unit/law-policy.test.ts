import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import type { Grant, VerifiedConsent } from '../../src/consent/claims.js';
import { type DecisionContext, decide } from '../../src/decide/decide.js';
import { definePolicy, PiplConfigError, type PolicyInput, REASONS } from '../../src/index.js';
import { compileRequirement } from '../../src/policy/requirement.js';

const base = (purposes: Record<string, unknown>, notice: Record<string, unknown> = { id: 'n', version: 4 }) =>
  ({ notice, purposes }) as unknown as PolicyInput;

function configError(input: PolicyInput): string {
  try {
    definePolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PiplConfigError);
    return (error as Error).message;
  }
  throw new Error('definePolicy accepted the policy');
}

const processing = {
  basis: 'consent',
  categories: ['contact', 'medical_health'],
  operations: ['use', 'entrust'],
  necessaryForService: true,
  piaRef: 'PIA-E',
  processors: [{ name: 'CloudOps Ltd', contractRef: 'DPA-2026-09' }],
};

const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  subjectId: 'u1',
  subjectDeclared: true,
  withdrawn: false,
  noticeId: 'n',
  ...over,
});

function consent(grants: Grant[], over: Partial<VerifiedConsent> = {}): VerifiedConsent {
  return {
    id: 'c1',
    subject: 'u1',
    issuer: 'i',
    issuedAt: 1,
    expiresAt: 2,
    notice: { id: 'n', version: 4 },
    ageBand: 'adult',
    guardian: undefined,
    personalization: true,
    grants,
    ...over,
  };
}

const g = (purpose: string, over: Partial<Grant> = {}): Grant => ({
  purpose,
  categories: ['contact'],
  ops: ['use'],
  consentType: 'general',
  givenAt: 1_790_000_000,
  ...over,
});

describe('entrust (Art. 21)', () => {
  it('needs processors with a contract reference, and an impact assessment (Art. 55(3))', () => {
    const { processors: _p, ...noProcessors } = processing;
    expect(configError(base({ 'ops.hosting': noProcessors }))).toMatch(
      /purposes\.ops\.hosting: operation "entrust" needs processors/,
    );
    expect(
      configError(base({ 'ops.hosting': { ...processing, processors: [{ name: 'CloudOps Ltd' }] } })),
    ).toContain('purposes.ops.hosting.processors.0.contractRef');
    expect(
      configError(base({ 'ops.hosting': { ...processing, categories: ['contact'], piaRef: undefined } })),
    ).toMatch(/operation "entrust" needs piaRef/);
  });

  it('refuses a route naming no processor, or one without a contract in the policy', () => {
    const policy = definePolicy(base({ 'ops.hosting': processing }));
    expect(() => compileRequirement(policy, 'ops.hosting', { operation: 'entrust' })).toThrow(
      /needs processor.*CloudOps Ltd/,
    );
    expect(() =>
      compileRequirement(policy, 'ops.hosting', { operation: 'entrust', processor: 'Shadow Ltd' }),
    ).toThrow(PiplConfigError);
  });

  it('needs no separate consent and no `entrust` in the grant, but stays inside purpose and categories', () => {
    const policy = definePolicy(base({ 'ops.hosting': processing }));
    const route = compileRequirement(policy, 'ops.hosting', {
      operation: 'entrust',
      processor: 'CloudOps Ltd',
      categories: ['contact'],
    });
    expect(route.processor).toEqual({ name: 'CloudOps Ltd', contractRef: 'DPA-2026-09' });
    expect(decide(route, consent([g('ops.hosting')]), ctx()).reason).toBe('consent_valid');
    expect(decide(route, consent([g('other.purpose')]), ctx()).reason).toBe('purpose_not_granted');
    // Entrusting sensitive PI is still processing sensitive PI: Art. 29 separate consent applies.
    const sensitive = compileRequirement(policy, 'ops.hosting', {
      operation: 'entrust',
      processor: 'CloudOps Ltd',
    });
    const general = g('ops.hosting', { categories: ['contact', 'medical_health'] });
    expect(decide(sensitive, consent([general]), ctx()).reason).toBe('sensitive_separate_consent_required');
    expect(decide(sensitive, consent([{ ...general, consentType: 'separate' }]), ctx()).reason).toBe(
      'consent_valid',
    );
  });
});

describe('re-consent only on a material change (Art. 14(2))', () => {
  const purposes = {
    unchanged: { basis: 'consent', categories: ['contact'], operations: ['use'], necessaryForService: true },
    changed: {
      basis: 'consent',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
      changedAt: 4,
    },
  };

  it('keeps older consent valid for a purpose that did not change, and asks again for one that did', () => {
    const policy = definePolicy(base(purposes));
    const old = (purpose: string) => consent([g(purpose)], { notice: { id: 'n', version: 3 } });
    const route = (purpose: string) => compileRequirement(policy, purpose, { operation: 'use' });
    expect(decide(route('unchanged'), old('unchanged'), ctx()).reason).toBe('consent_valid');
    expect(decide(route('changed'), old('changed'), ctx()).reason).toBe('reconsent_required');
    const current = consent([g('changed')], { notice: { id: 'n', version: 4 } });
    expect(decide(route('changed'), current, ctx()).reason).toBe('consent_valid');
  });

  it('warns at start-up about every purpose that does not say whether a notice bump changed it', () => {
    const policy = definePolicy(base(purposes, { id: 'n', version: 4, previousVersion: 3 }));
    expect(policy.warnings).toHaveLength(1);
    expect(policy.warnings[0]).toMatch(/purposes\.unchanged: the notice moved from version 3 to 4/);
    expect(definePolicy(base(purposes)).warnings).toEqual([]);
    const quiet = definePolicy(
      base(
        { ...purposes, unchanged: { ...purposes.unchanged, changedAt: 2 } },
        { id: 'n', version: 4, previousVersion: 3 },
      ),
    );
    expect(quiet.warnings).toEqual([]);
  });

  it('refuses a changedAt later than the notice, or with its old name noticeVersion', () => {
    expect(configError(base({ x: { ...purposes.changed, changedAt: 5 } }))).toContain(
      'later than the notice',
    );
    expect(configError(base({ x: { ...purposes.changed, noticeVersion: 4 } }))).toContain('not both');
  });
});

describe('policy digest (Art. 69)', () => {
  it('is sha256 over the canonical policy text, which holds everything that decides', () => {
    const policy = definePolicy(base({ 'ops.hosting': processing }));
    expect(policy.digest).toBe(`sha256:${createHash('sha256').update(policy.text).digest('hex')}`);
    expect(policy.text).toBe(canonicalize(JSON.parse(policy.text)));
    expect(JSON.parse(policy.text).purposes['ops.hosting'].processors[0].contractRef).toBe('DPA-2026-09');
    const other = definePolicy(base({ 'ops.hosting': { ...processing, piaRef: 'PIA-F' } }));
    expect(other.digest).not.toBe(policy.digest);
  });
});

describe('smaller gaps (Art. 19, 27, 31, 51)', () => {
  it('Art. 27: public_info honours an explicit refusal', () => {
    const policy = definePolicy(
      base({
        'press.profile': {
          basis: 'public_info',
          categories: ['identity_basic'],
          operations: ['use'],
          necessaryForService: false,
        },
      }),
    );
    const route = compileRequirement(policy, 'press.profile', { operation: 'use' });
    expect(decide(route, undefined, ctx()).reason).toBe('lawful_basis');
    expect(decide(route, undefined, ctx({ publicInfoRefused: true })).reason).toBe('public_info_refused');
  });

  it('Art. 51(4): per-category role allow-lists, intersected over the route categories', () => {
    const policy = definePolicy({
      notice: { id: 'n', version: 4 },
      categories: {
        medical_health: { sensitive: true, roles: ['doctor', 'nurse'] },
        contact: { sensitive: false, roles: ['doctor', 'support'] },
      },
      purposes: {
        care: {
          basis: 'contract',
          categories: ['medical_health', 'contact'],
          operations: ['use'],
          necessaryForService: true,
          piaRef: 'PIA-C',
        },
      },
    });
    const both = compileRequirement(policy, 'care', { operation: 'use' });
    expect([...(both.roles ?? [])]).toEqual(['doctor']);
    expect(decide(both, undefined, ctx({ actorRole: 'doctor' })).reason).toBe('lawful_basis');
    expect(decide(both, undefined, ctx({ actorRole: 'nurse' })).reason).toBe('actor_not_authorized');
    expect(decide(both, undefined, ctx()).reason).toBe('actor_not_authorized');
    const contact = compileRequirement(policy, 'care', { operation: 'use', categories: ['contact'] });
    expect(decide(contact, undefined, ctx({ actorRole: 'support' })).reason).toBe('lawful_basis');
  });

  it('Art. 19: retention is an ISO 8601 duration kept on the purpose', () => {
    const purpose = {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    };
    expect(definePolicy(base({ p: { ...purpose, retention: 'P3Y' } })).purposes.get('p')?.retention).toBe(
      'P3Y',
    );
    expect(configError(base({ p: { ...purpose, retention: 'three years' } }))).toContain('ISO 8601 duration');
  });

  it('Art. 31: a children purpose refuses a token that calls the subject older, whatever the grant', () => {
    const policy = definePolicy(
      base({ kids: { ...processing, operations: ['use'], processors: undefined, childrenUnder14: true } }),
    );
    const route = compileRequirement(policy, 'kids', { operation: 'use' });
    const grant = g('kids', { categories: ['contact', 'medical_health'], consentType: 'guardian' });
    const guardian = { id: 'parent-1', method: 'written' } as const;
    for (const ageBand of ['adult', '14to18'] as const) {
      expect(decide(route, consent([grant], { ageBand, guardian }), ctx()).reason).toBe('age_band_mismatch');
    }
    expect(decide(route, consent([grant], { ageBand: 'under14', guardian }), ctx()).reason).toBe(
      'consent_valid',
    );
    expect(REASONS.age_band_mismatch.status).toBe(403);
  });

  it('lowering a built-in sensitive category needs a reason', () => {
    const purpose = {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    };
    const lowered = (reason?: string) =>
      ({
        notice: { id: 'n', version: 1 },
        categories: { whereabouts: { sensitive: false, ...(reason ? { reason } : {}) } },
        purposes: { p: purpose },
      }) as unknown as PolicyInput;
    expect(configError(lowered())).toContain('categories.whereabouts');
    expect(definePolicy(lowered('Only the city is kept (PIA-9 §3)')).isSensitive('whereabouts')).toBe(false);
  });
});

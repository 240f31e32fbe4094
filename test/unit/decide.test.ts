import { describe, expect, it } from 'vitest';
import type { Grant, VerifiedConsent } from '../../src/consent/claims.js';
import { type Decision, type DecisionContext, decide } from '../../src/decide/decide.js';
import { REASONS, type ReasonCode } from '../../src/errors/codes.js';
import { definePolicy } from '../../src/policy/define-policy.js';
import { compileRequirement, type Requirement, type RouteRequirement } from '../../src/policy/requirement.js';
import { type GuardianMethod, LEGAL_BASES, type LegalBasis } from '../../src/taxonomy/taxonomy.js';

const NOTICE = { id: 'notice-a', version: 3 } as const;

const policy = definePolicy({
  notice: NOTICE,
  categories: { loyalty_points: { sensitive: false } },
  purposes: {
    'account.profile': {
      basis: 'consent',
      categories: ['identity_basic', 'contact', 'loyalty_points'],
      operations: ['use', 'store'],
      necessaryForService: true,
      changedAt: 3,
    },
    'account.v5': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
      noticeVersion: 5,
    },
    'health.records': {
      basis: 'consent',
      categories: ['medical_health', 'contact'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-1',
    },
    'payments.card': {
      basis: 'consent',
      categories: ['financial_account', 'contact'],
      operations: ['use'],
      necessaryForService: true,
      writtenConsent: true,
      piaRef: 'PIA-2',
    },
    'partner.delivery': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-3',
    },
    'profile.publish': {
      basis: 'consent',
      categories: ['identity_basic'],
      operations: ['disclose'],
      necessaryForService: false,
      piaRef: 'PIA-4',
    },
    'support.overseas': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['cross_border'],
      necessaryForService: false,
      piaRef: 'PIA-5',
      transfers: [
        {
          country: 'SG',
          recipient: 'Support Pte',
          mechanism: 'standard_contract',
          reference: 'SC-1',
          validFrom: '2020-01-01',
          validUntil: '2099-12-31',
        },
      ],
    },
    'marketing.personalized': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-6',
    },
    'ads.targeted': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      piaRef: 'PIA-7',
    },
    // Twin purposes, identical except for onMissingConsent: every consent problem is checked on both.
    'insights.optional': {
      basis: 'consent',
      categories: ['behavior', 'medical_health'],
      operations: ['use', 'store', 'provide', 'disclose', 'cross_border'],
      changedAt: 3,
      necessaryForService: false,
      writtenConsent: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-8',
      transfers: [
        {
          country: 'JP',
          recipient: 'Tokyo KK',
          mechanism: 'standard_contract',
          reference: 'SC-2',
          validFrom: '2020-01-01',
          validUntil: '2099-12-31',
        },
      ],
    },
    'insights.strict': {
      basis: 'consent',
      categories: ['behavior', 'medical_health'],
      operations: ['use', 'store', 'provide', 'disclose', 'cross_border'],
      changedAt: 3,
      necessaryForService: false,
      writtenConsent: true,
      piaRef: 'PIA-8',
      transfers: [
        {
          country: 'JP',
          recipient: 'Tokyo KK',
          mechanism: 'standard_contract',
          reference: 'SC-2',
          validFrom: '2020-01-01',
          validUntil: '2099-12-31',
        },
      ],
    },
  },
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function req(purpose: string, route: RouteRequirement): Requirement {
  return compileRequirement(policy, purpose, route);
}

function grant(purpose: string, overrides: Partial<Mutable<Grant>> = {}): Grant {
  return {
    purpose,
    categories: ['identity_basic', 'contact', 'loyalty_points'],
    ops: ['use', 'store'],
    consentType: 'general',
    givenAt: 1_700_000_000,
    ...overrides,
  };
}

function consent(overrides: Partial<Mutable<VerifiedConsent>> = {}): VerifiedConsent {
  return {
    id: 'consent-1',
    subject: 'user-1',
    issuer: 'https://consent.test',
    issuedAt: 1_700_000_000,
    expiresAt: 1_700_003_600,
    notice: { ...NOTICE },
    ageBand: 'adult',
    guardian: undefined,
    personalization: true,
    grants: [grant('account.profile')],
    ...overrides,
  };
}

function ctx(overrides: Partial<Mutable<DecisionContext>> = {}): DecisionContext {
  return { subjectId: 'user-1', subjectDeclared: true, withdrawn: false, noticeId: NOTICE.id, ...overrides };
}

const profileUse = () => req('account.profile', { operation: 'use' });

function expectReason(decision: Decision, reason: ReasonCode) {
  expect(decision.reason).toBe(reason);
  expect(decision.effect).toBe(REASONS[reason].effect);
  expect(decision.status).toBe(REASONS[reason].status);
}

describe('baseline', () => {
  it('allows a consent that covers the route', () => {
    const decision = decide(profileUse(), consent(), ctx());
    expect(decision).toEqual({
      effect: 'allow',
      reason: 'consent_valid',
      status: 200,
      purpose: 'account.profile',
      basis: 'consent',
      operation: 'use',
      categories: ['identity_basic', 'contact', 'loyalty_points'],
      consentId: 'consent-1',
      noticeVersion: 3,
      consentType: 'general',
      givenAt: 1_700_000_000,
    });
  });

  it('ignores the subject when the route declares none', () => {
    const decision = decide(
      profileUse(),
      consent({ subject: 'someone-else' }),
      ctx({ subjectId: undefined, subjectDeclared: false }),
    );
    expectReason(decision, 'consent_valid');
  });
});

describe('rule: lawful_basis (Art. 13)', () => {
  const others = LEGAL_BASES.filter((basis): basis is Exclude<LegalBasis, 'consent'> => basis !== 'consent');

  it('covers every non-consent basis', () => {
    expect(others).toEqual(['contract', 'statutory', 'emergency', 'news', 'public_info', 'other_law']);
  });

  for (const basis of others) {
    describe(`basis "${basis}"`, () => {
      const local = definePolicy({
        notice: NOTICE,
        purposes: {
          'service.core': { basis, categories: ['contact'], operations: ['use'], necessaryForService: true },
        },
      });
      const requirement = compileRequirement(local, 'service.core', { operation: 'use' });

      it('passes without consent, even with an unresolved subject', () => {
        const decision = decide(requirement, undefined, ctx({ subjectId: undefined }));
        expectReason(decision, 'lawful_basis');
        expect(decision.basis).toBe(basis);
        expect(decision.purpose).toBe('service.core');
        expect(decision).not.toHaveProperty('consentId');
        expect(decision).not.toHaveProperty('cause');
      });

      it('does not look at a consent that was sent, but records it', () => {
        const withdrawnOther = consent({ subject: 'user-2', grants: [] });
        const decision = decide(requirement, withdrawnOther, ctx({ withdrawn: true, noticeId: 'other' }));
        expectReason(decision, 'lawful_basis');
        expect(decision.consentId).toBe('consent-1');
        expect(decision.noticeVersion).toBe(3);
        expect(decision).not.toHaveProperty('consentType');
      });
    });
  }
});

describe('rule: consent_required', () => {
  it('denies a consent purpose without a consent', () => {
    const decision = decide(profileUse(), undefined, ctx());
    expectReason(decision, 'consent_required');
    expect(decision.status).toBe(403);
    expect(decision).not.toHaveProperty('consentId');
  });

  it('denies without consent when the route declares no subject', () => {
    expectReason(
      decide(profileUse(), undefined, ctx({ subjectDeclared: false, subjectId: undefined })),
      'consent_required',
    );
  });
});

describe('rule: subject_unresolved', () => {
  it('denies when a declared subject resolved to nothing, with a consent', () => {
    const decision = decide(profileUse(), consent(), ctx({ subjectId: undefined }));
    expectReason(decision, 'subject_unresolved');
    expect(decision.consentId).toBe('consent-1');
  });

  it('denies when a declared subject resolved to nothing, without a consent', () => {
    expectReason(decide(profileUse(), undefined, ctx({ subjectId: undefined })), 'subject_unresolved');
  });

  it('is not degraded on a degrade purpose', () => {
    const requirement = req('marketing.personalized', { operation: 'use' });
    expectReason(decide(requirement, undefined, ctx({ subjectId: undefined })), 'subject_unresolved');
    expectReason(decide(requirement, consent(), ctx({ subjectId: undefined })), 'subject_unresolved');
  });
});

describe('rule: subject_mismatch', () => {
  it("denies a token for subject A on subject B's route", () => {
    const decision = decide(profileUse(), consent({ subject: 'user-1' }), ctx({ subjectId: 'user-2' }));
    expectReason(decision, 'subject_mismatch');
    expect(decision.consentId).toBe('consent-1');
  });

  it('compares exactly (no case folding or trimming)', () => {
    expectReason(decide(profileUse(), consent(), ctx({ subjectId: 'User-1' })), 'subject_mismatch');
    expectReason(decide(profileUse(), consent(), ctx({ subjectId: 'user-1 ' })), 'subject_mismatch');
  });

  it('is checked before withdrawal and notice', () => {
    const decision = decide(
      profileUse(),
      consent(),
      ctx({ subjectId: 'user-2', withdrawn: true, noticeId: 'x' }),
    );
    expectReason(decision, 'subject_mismatch');
  });

  it('is NOT degraded on a degrade purpose', () => {
    const requirement = req('marketing.personalized', { operation: 'use' });
    const decision = decide(
      requirement,
      consent({ grants: [grant('marketing.personalized', { categories: ['behavior'], ops: ['use'] })] }),
      ctx({ subjectId: 'user-2' }),
    );
    expectReason(decision, 'subject_mismatch');
    expect(decision.effect).toBe('deny');
    expect(decision).not.toHaveProperty('cause');
  });
});

describe('rule: consent_withdrawn (Art. 15)', () => {
  it('denies a withdrawn consent that would otherwise be valid', () => {
    const decision = decide(profileUse(), consent(), ctx({ withdrawn: true }));
    expectReason(decision, 'consent_withdrawn');
    expect(decision.consentId).toBe('consent-1');
  });
});

describe('rule: reconsent_required (Art. 14)', () => {
  it('denies a consent given under an older notice version', () => {
    const decision = decide(profileUse(), consent({ notice: { id: NOTICE.id, version: 2 } }), ctx());
    expectReason(decision, 'reconsent_required');
    expect(decision.noticeVersion).toBe(2);
  });

  it('denies a consent given under a different notice id, even with a newer version', () => {
    expectReason(
      decide(profileUse(), consent({ notice: { id: 'notice-b', version: 9 } }), ctx()),
      'reconsent_required',
    );
  });

  it('accepts the current and a newer notice version', () => {
    expectReason(decide(profileUse(), consent(), ctx()), 'consent_valid');
    expectReason(
      decide(profileUse(), consent({ notice: { id: NOTICE.id, version: 4 } }), ctx()),
      'consent_valid',
    );
  });

  it('honours a per-purpose noticeVersion override', () => {
    expect(policy.purposes.get('account.v5')?.noticeVersion).toBe(5);
    const requirement = req('account.v5', { operation: 'use' });
    const grants = [grant('account.v5', { categories: ['contact'], ops: ['use'] })];
    // Version 3 is enough for the policy, not for this purpose.
    expectReason(decide(requirement, consent({ grants }), ctx()), 'reconsent_required');
    expectReason(
      decide(requirement, consent({ grants, notice: { id: NOTICE.id, version: 4 } }), ctx()),
      'reconsent_required',
    );
    expectReason(
      decide(requirement, consent({ grants, notice: { id: NOTICE.id, version: 5 } }), ctx()),
      'consent_valid',
    );
  });
});

describe('rule: purpose_not_granted', () => {
  it('denies a consent with no grant for the purpose', () => {
    const grants = [grant('account.v5', { categories: ['contact'], ops: ['use'] })];
    expectReason(decide(profileUse(), consent({ grants }), ctx()), 'purpose_not_granted');
  });

  it('denies a consent with no grants at all', () => {
    expectReason(decide(profileUse(), consent({ grants: [] }), ctx()), 'purpose_not_granted');
  });

  it('does not match purposes by prefix', () => {
    const grants = [grant('account'), grant('account.profile.extra'), grant('ACCOUNT.PROFILE')];
    expectReason(decide(profileUse(), consent({ grants }), ctx()), 'purpose_not_granted');
  });
});

describe('rule: operation_not_granted', () => {
  it('denies an operation the grant does not name', () => {
    const requirement = req('account.profile', { operation: 'store' });
    const grants = [grant('account.profile', { ops: ['use'] })];
    const decision = decide(requirement, consent({ grants }), ctx());
    expectReason(decision, 'operation_not_granted');
    expect(decision).not.toHaveProperty('consentType');
  });
});

describe('rule: category_not_granted', () => {
  it('denies a route category outside the grant', () => {
    const grants = [grant('account.profile', { categories: ['identity_basic', 'contact'] })];
    // The route defaults to every category of the purpose, loyalty_points included.
    expectReason(decide(profileUse(), consent({ grants }), ctx()), 'category_not_granted');
  });

  it('allows a route that names only granted categories', () => {
    const grants = [grant('account.profile', { categories: ['identity_basic', 'contact'] })];
    const requirement = req('account.profile', { operation: 'use', categories: ['contact'] });
    const decision = decide(requirement, consent({ grants }), ctx());
    expectReason(decision, 'consent_valid');
    expect(decision.categories).toEqual(['contact']);
  });
});

describe('rule: separate consent, one code per article (Art. 23, 25, 29, 39)', () => {
  const healthGrant = (consentType: Grant['consentType']) =>
    grant('health.records', { categories: ['medical_health', 'contact'], ops: ['use'], consentType });

  it('denies sensitive PI with only general consent', () => {
    const requirement = req('health.records', { operation: 'use' });
    expectReason(
      decide(requirement, consent({ grants: [healthGrant('general')] }), ctx()),
      'sensitive_separate_consent_required',
    );
  });

  it('denies when only one of the route categories is sensitive', () => {
    const requirement = req('health.records', {
      operation: 'use',
      categories: ['contact', 'medical_health'],
    });
    expect(requirement.sensitiveCategories).toEqual(['medical_health']);
    expectReason(
      decide(requirement, consent({ grants: [healthGrant('general')] }), ctx()),
      'sensitive_separate_consent_required',
    );
  });

  it('accepts separate and written consent for sensitive PI', () => {
    const requirement = req('health.records', { operation: 'use' });
    for (const type of ['separate', 'written'] as const) {
      const decision = decide(requirement, consent({ grants: [healthGrant(type)] }), ctx());
      expectReason(decision, 'consent_valid');
      expect(decision.consentType).toBe(type);
    }
  });

  it('accepts general consent for the non-sensitive part of a purpose', () => {
    const requirement = req('health.records', { operation: 'use', categories: ['contact'] });
    expectReason(decide(requirement, consent({ grants: [healthGrant('general')] }), ctx()), 'consent_valid');
  });

  it('denies provide with general consent', () => {
    const requirement = req('partner.delivery', { operation: 'provide', recipient: 'Courier Co' });
    const grants = [
      grant('partner.delivery', {
        categories: ['contact'],
        ops: ['provide'],
        recipients: [{ name: 'Courier Co' }],
      }),
    ];
    expectReason(decide(requirement, consent({ grants }), ctx()), 'provision_separate_consent_required');
  });

  it('denies disclose with general consent', () => {
    const requirement = req('profile.publish', { operation: 'disclose' });
    const grants = [grant('profile.publish', { categories: ['identity_basic'], ops: ['disclose'] })];
    expectReason(decide(requirement, consent({ grants }), ctx()), 'disclosure_separate_consent_required');
    const separate = [{ ...grants[0], consentType: 'separate' } as Grant];
    expectReason(decide(requirement, consent({ grants: separate }), ctx()), 'consent_valid');
  });

  it('denies cross_border with general consent', () => {
    const requirement = req('support.overseas', {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Support Pte' },
    });
    const grants = [
      grant('support.overseas', {
        categories: ['contact'],
        ops: ['cross_border'],
        crossBorder: { country: 'SG', recipient: 'Support Pte', mechanism: 'standard_contract' },
      }),
    ];
    expectReason(decide(requirement, consent({ grants }), ctx()), 'cross_border_separate_consent_required');
  });
});

describe('rule: written_consent_required (Art. 29)', () => {
  const requirement = () => req('payments.card', { operation: 'use' });
  const cardGrant = (consentType: Grant['consentType']) =>
    grant('payments.card', { categories: ['financial_account', 'contact'], ops: ['use'], consentType });

  it('denies separate consent where written consent is required', () => {
    expectReason(
      decide(requirement(), consent({ grants: [cardGrant('separate')] }), ctx()),
      'written_consent_required',
    );
  });

  it("does not take a guardian's consent as an adult's separate consent (Art. 29, 31)", () => {
    expectReason(
      decide(requirement(), consent({ grants: [cardGrant('guardian')] }), ctx()),
      'sensitive_separate_consent_required',
    );
  });

  it('answers general consent with sensitive_separate_consent_required (the bigger gap)', () => {
    expectReason(
      decide(requirement(), consent({ grants: [cardGrant('general')] }), ctx()),
      'sensitive_separate_consent_required',
    );
  });

  it('accepts written consent', () => {
    const decision = decide(requirement(), consent({ grants: [cardGrant('written')] }), ctx());
    expectReason(decision, 'consent_valid');
    expect(decision.consentType).toBe('written');
  });

  it('does not require written consent when the route touches no sensitive category', () => {
    const contactOnly = req('payments.card', { operation: 'use', categories: ['contact'] });
    expectReason(decide(contactOnly, consent({ grants: [cardGrant('general')] }), ctx()), 'consent_valid');
  });

  it("requires the guardian's consent to be written for a subject under 14", () => {
    const child = (method: GuardianMethod) =>
      consent({
        ageBand: 'under14',
        guardian: { id: 'parent-1', method },
        grants: [cardGrant('guardian')],
      });
    expectReason(decide(requirement(), child('electronic'), ctx()), 'written_consent_required');
    const decision = decide(requirement(), child('written'), ctx());
    expectReason(decision, 'consent_valid');
    expect(decision.consentType).toBe('guardian');
  });
});

describe('rule: guardian_consent_required (Art. 28, 31)', () => {
  const child = (overrides: Partial<Mutable<VerifiedConsent>> = {}) =>
    consent({ ageBand: 'under14', guardian: { id: 'parent-1', method: 'verified_account' }, ...overrides });

  it('denies a child under 14 with general consent, even for non-sensitive categories only', () => {
    const requirement = profileUse();
    expect(requirement.sensitiveCategories).toEqual([]);
    for (const type of ['general', 'separate', 'written'] as const) {
      const decision = decide(
        requirement,
        child({ grants: [grant('account.profile', { consentType: type })] }),
        ctx(),
      );
      expectReason(decision, 'guardian_consent_required');
    }
  });

  it('denies a guardian-type grant without a guardian object', () => {
    const decision = decide(
      profileUse(),
      child({ guardian: undefined, grants: [grant('account.profile', { consentType: 'guardian' })] }),
      ctx(),
    );
    expectReason(decision, 'guardian_consent_required');
  });

  it("accepts the guardian's consent", () => {
    const decision = decide(
      profileUse(),
      child({ grants: [grant('account.profile', { consentType: 'guardian' })] }),
      ctx(),
    );
    expectReason(decision, 'consent_valid');
    expect(decision.consentType).toBe('guardian');
  });

  it('treats 14to18 like an adult', () => {
    expectReason(decide(profileUse(), consent({ ageBand: '14to18' }), ctx()), 'consent_valid');
  });
});

describe('rule: recipient_not_granted (Art. 23)', () => {
  const requirement = () => req('partner.delivery', { operation: 'provide', recipient: 'Courier Co' });
  const deliveryGrant = (recipients?: Grant['recipients']) =>
    grant('partner.delivery', {
      categories: ['contact'],
      ops: ['provide'],
      consentType: 'separate',
      ...(recipients ? { recipients } : {}),
    });

  it('denies a provide to a recipient the grant does not name', () => {
    expectReason(
      decide(requirement(), consent({ grants: [deliveryGrant([{ name: 'Other Co' }])] }), ctx()),
      'recipient_not_granted',
    );
  });

  it('denies a provide when the grant names no recipients', () => {
    expectReason(
      decide(requirement(), consent({ grants: [deliveryGrant()] }), ctx()),
      'recipient_not_granted',
    );
    expectReason(
      decide(requirement(), consent({ grants: [deliveryGrant([])] }), ctx()),
      'recipient_not_granted',
    );
  });

  it('allows a provide to a named recipient', () => {
    const grants = [deliveryGrant([{ name: 'Other Co' }, { name: 'Courier Co', role: 'handler' }])];
    expectReason(decide(requirement(), consent({ grants }), ctx()), 'consent_valid');
  });
});

describe('rule: cross_border_not_granted (Art. 38-39)', () => {
  const requirement = () =>
    req('support.overseas', {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Support Pte' },
    });
  const overseasGrant = (crossBorder?: Grant['crossBorder']) =>
    grant('support.overseas', {
      categories: ['contact'],
      ops: ['cross_border'],
      consentType: 'separate',
      ...(crossBorder ? { crossBorder } : {}),
    });

  it('denies a different country', () => {
    const grants = [
      overseasGrant({ country: 'US', recipient: 'Support Pte', mechanism: 'standard_contract' }),
    ];
    expectReason(decide(requirement(), consent({ grants }), ctx()), 'cross_border_not_granted');
  });

  it('denies a different recipient', () => {
    const grants = [overseasGrant({ country: 'SG', recipient: 'Other Pte', mechanism: 'standard_contract' })];
    expectReason(decide(requirement(), consent({ grants }), ctx()), 'cross_border_not_granted');
  });

  it('denies a grant without crossBorder', () => {
    expectReason(
      decide(requirement(), consent({ grants: [overseasGrant()] }), ctx()),
      'cross_border_not_granted',
    );
  });

  it('allows the named country and recipient', () => {
    const grants = [overseasGrant({ country: 'SG', recipient: 'Support Pte', mechanism: 'certification' })];
    expectReason(decide(requirement(), consent({ grants }), ctx()), 'consent_valid');
  });
});

describe('rule: personalisation opt-out (Art. 24)', () => {
  const marketingGrant = grant('marketing.personalized', { categories: ['behavior'], ops: ['use'] });
  const adsGrant = grant('ads.targeted', { categories: ['behavior'], ops: ['use'] });

  it('denies with personalization_opted_out on a deny purpose', () => {
    const decision = decide(
      req('ads.targeted', { operation: 'use' }),
      consent({ personalization: false, grants: [adsGrant] }),
      ctx(),
    );
    expectReason(decision, 'personalization_opted_out');
    expect(decision.effect).toBe('deny');
    expect(decision.consentType).toBe('general');
  });

  it('degrades with degraded_personalization_opt_out on a degrade purpose', () => {
    const decision = decide(
      req('marketing.personalized', { operation: 'use' }),
      consent({ personalization: false, grants: [marketingGrant] }),
      ctx(),
    );
    expectReason(decision, 'degraded_personalization_opt_out');
    expect(decision.effect).toBe('degrade');
    expect(decision.status).toBe(200);
    expect(decision).not.toHaveProperty('cause');
  });

  it('allows when the subject did not opt out', () => {
    expectReason(
      decide(req('ads.targeted', { operation: 'use' }), consent({ grants: [adsGrant] }), ctx()),
      'consent_valid',
    );
  });

  it('ignores the opt-out for a purpose that is not personalised', () => {
    expectReason(decide(profileUse(), consent({ personalization: false }), ctx()), 'consent_valid');
  });
});

describe('rule: degraded_no_consent (Art. 16)', () => {
  const behaviourUse = { operation: 'use' } as const satisfies RouteRequirement;
  const cases: {
    cause: ReasonCode;
    route: RouteRequirement;
    consent: (purpose: string) => VerifiedConsent | undefined;
    context?: Partial<DecisionContext>;
  }[] = [
    { cause: 'consent_required', route: behaviourUse, consent: () => undefined },
    {
      cause: 'consent_withdrawn',
      route: behaviourUse,
      consent: (p) => consent({ grants: [grant(p, { categories: ['behavior'], ops: ['use'] })] }),
      context: { withdrawn: true },
    },
    {
      cause: 'reconsent_required',
      route: behaviourUse,
      consent: (p) =>
        consent({ notice: { id: NOTICE.id, version: 1 }, grants: [grant(p, { categories: ['behavior'] })] }),
    },
    { cause: 'purpose_not_granted', route: behaviourUse, consent: () => consent() },
    {
      cause: 'operation_not_granted',
      route: { operation: 'store', categories: ['behavior'] },
      consent: (p) => consent({ grants: [grant(p, { categories: ['behavior'], ops: ['use'] })] }),
    },
    {
      cause: 'category_not_granted',
      route: behaviourUse,
      consent: (p) => consent({ grants: [grant(p, { categories: ['behavior'], ops: ['use'] })] }),
    },
    {
      cause: 'sensitive_separate_consent_required',
      route: { operation: 'use', categories: ['medical_health'] },
      consent: (p) => consent({ grants: [grant(p, { categories: ['medical_health'], ops: ['use'] })] }),
    },
    {
      cause: 'provision_separate_consent_required',
      route: { operation: 'provide', categories: ['behavior'], recipient: 'Analytics Co' },
      consent: (p) =>
        consent({
          grants: [
            grant(p, { categories: ['behavior'], ops: ['provide'], recipients: [{ name: 'Analytics Co' }] }),
          ],
        }),
    },
    {
      cause: 'disclosure_separate_consent_required',
      route: { operation: 'disclose', categories: ['behavior'] },
      consent: (p) => consent({ grants: [grant(p, { categories: ['behavior'], ops: ['disclose'] })] }),
    },
    {
      cause: 'cross_border_separate_consent_required',
      route: {
        operation: 'cross_border',
        categories: ['behavior'],
        crossBorder: { country: 'JP', recipient: 'Tokyo KK' },
      },
      consent: (p) =>
        consent({
          grants: [
            grant(p, {
              categories: ['behavior'],
              ops: ['cross_border'],
              crossBorder: { country: 'JP', recipient: 'Tokyo KK' },
            }),
          ],
        }),
    },
    {
      cause: 'written_consent_required',
      route: { operation: 'use', categories: ['medical_health'] },
      consent: (p) =>
        consent({
          grants: [grant(p, { categories: ['medical_health'], ops: ['use'], consentType: 'separate' })],
        }),
    },
    {
      cause: 'guardian_consent_required',
      route: { operation: 'use', categories: ['behavior'] },
      consent: (p) =>
        consent({ ageBand: 'under14', grants: [grant(p, { categories: ['behavior'], ops: ['use'] })] }),
    },
    {
      cause: 'recipient_not_granted',
      route: { operation: 'provide', categories: ['behavior'], recipient: 'Analytics Co' },
      consent: (p) =>
        consent({
          grants: [
            grant(p, {
              categories: ['behavior'],
              ops: ['provide'],
              consentType: 'separate',
              recipients: [{ name: 'Someone Else' }],
            }),
          ],
        }),
    },
    {
      cause: 'cross_border_not_granted',
      route: {
        operation: 'cross_border',
        categories: ['behavior'],
        crossBorder: { country: 'JP', recipient: 'Tokyo KK' },
      },
      consent: (p) =>
        consent({
          grants: [
            grant(p, {
              categories: ['behavior'],
              ops: ['cross_border'],
              consentType: 'separate',
              crossBorder: { country: 'KR', recipient: 'Tokyo KK', mechanism: 'standard_contract' },
            }),
          ],
        }),
    },
  ];

  it('has a case for every degradable consent problem', () => {
    expect(cases.map((c) => c.cause).sort()).toEqual(
      [
        'consent_required',
        'consent_withdrawn',
        'reconsent_required',
        'purpose_not_granted',
        'operation_not_granted',
        'category_not_granted',
        'sensitive_separate_consent_required',
        'provision_separate_consent_required',
        'disclosure_separate_consent_required',
        'cross_border_separate_consent_required',
        'written_consent_required',
        'guardian_consent_required',
        'recipient_not_granted',
        'cross_border_not_granted',
      ].sort(),
    );
  });

  for (const c of cases) {
    it(`degrades ${c.cause} with cause, and denies it on the deny twin`, () => {
      const context = ctx(c.context);
      const strict = decide(req('insights.strict', c.route), c.consent('insights.strict'), context);
      expectReason(strict, c.cause);
      expect(strict).not.toHaveProperty('cause');

      const degraded = decide(req('insights.optional', c.route), c.consent('insights.optional'), context);
      expectReason(degraded, 'degraded_no_consent');
      expect(degraded.effect).toBe('degrade');
      expect(degraded.status).toBe(200);
      expect(degraded.cause).toBe(c.cause);
      expect(degraded.purpose).toBe('insights.optional');
      expect(degraded).not.toHaveProperty('consentType');
      if (c.consent('insights.optional')) expect(degraded.consentId).toBe('consent-1');
    });
  }

  it('allows on the degrade purpose when the consent is sufficient', () => {
    const decision = decide(
      req('insights.optional', behaviourUse),
      consent({
        grants: [
          grant('insights.optional', {
            categories: ['behavior', 'medical_health'],
            ops: ['use'],
            consentType: 'written',
          }),
        ],
      }),
      ctx(),
    );
    expectReason(decision, 'consent_valid');
  });
});

describe('multiple grants for one purpose', () => {
  it('allows when a later grant satisfies and an earlier one does not', () => {
    const grants = [
      grant('account.profile', { ops: ['store'], consentType: 'general' }),
      grant('account.profile', { ops: ['use'], consentType: 'separate' }),
    ];
    const decision = decide(profileUse(), consent({ grants }), ctx());
    expectReason(decision, 'consent_valid');
    // The decision names the grant that satisfied, not the first one.
    expect(decision.consentType).toBe('separate');
  });

  it('reports the problem of the last matching grant when none satisfies', () => {
    const grants = [
      grant('account.profile', { ops: ['store'] }),
      grant('other.purpose'),
      grant('account.profile', { categories: ['contact'] }),
    ];
    expectReason(decide(profileUse(), consent({ grants }), ctx()), 'category_not_granted');
  });
});

describe('decision contents', () => {
  it('carries consentId, noticeVersion and consentType', () => {
    const decision = decide(
      profileUse(),
      consent({
        id: 'jti-42',
        notice: { id: NOTICE.id, version: 7 },
        grants: [grant('account.profile', { consentType: 'written' })],
      }),
      ctx(),
    );
    expect(decision.consentId).toBe('jti-42');
    expect(decision.noticeVersion).toBe(7);
    expect(decision.consentType).toBe('written');
  });

  it('carries consentId and noticeVersion on a denial, without consentType', () => {
    const decision = decide(profileUse(), consent({ id: 'jti-43', grants: [] }), ctx());
    expect(decision).toMatchObject({ effect: 'deny', consentId: 'jti-43', noticeVersion: 3 });
    expect(decision).not.toHaveProperty('consentType');
  });

  it('returns only the reason codes in REASONS', () => {
    const decision = decide(profileUse(), consent(), ctx());
    expect(Object.keys(REASONS)).toContain(decision.reason);
  });
});

describe('purity', () => {
  function deepFreeze<T>(value: T): T {
    if (value && typeof value === 'object' && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const member of Object.values(value)) deepFreeze(member);
    } else if (value && typeof value === 'object') {
      for (const member of Object.values(value)) deepFreeze(member);
    }
    return value;
  }

  const scenarios: [string, () => [Requirement, VerifiedConsent | undefined, DecisionContext]][] = [
    ['allow', () => [profileUse(), consent(), ctx()]],
    ['deny', () => [profileUse(), consent({ grants: [] }), ctx()]],
    ['no consent', () => [profileUse(), undefined, ctx()]],
    ['degrade', () => [req('insights.optional', { operation: 'use' }), undefined, ctx()]],
    [
      'opt-out',
      () => [
        req('marketing.personalized', { operation: 'use' }),
        consent({
          personalization: false,
          grants: [grant('marketing.personalized', { categories: ['behavior'], ops: ['use'] })],
        }),
        ctx(),
      ],
    ],
  ];

  for (const [name, make] of scenarios) {
    it(`gives deep-equal decisions for the same frozen inputs and mutates nothing (${name})`, () => {
      const [requirement, verified, context] = make();
      const snapshot = structuredClone({ verified, context, categories: [...requirement.categories] });
      deepFreeze(verified);
      deepFreeze(context);
      deepFreeze(requirement);
      const first = decide(requirement, verified, context);
      const second = decide(requirement, verified, context);
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
      // Inputs are frozen (a mutation would have thrown in strict mode) and unchanged.
      expect({ verified, context, categories: [...requirement.categories] }).toEqual(snapshot);
      // A fresh, equal set of inputs gives the same decision.
      const [requirement2, verified2, context2] = make();
      expect(decide(requirement2, verified2, context2)).toEqual(first);
    });
  }

  it('returns categories that cannot be changed through the decision', () => {
    const requirement = profileUse();
    const decision = decide(requirement, consent(), ctx());
    expect(Object.isFrozen(decision.categories)).toBe(true);
  });
});

import type { IssueConsentOptions, ReasonCode } from '../../src/index.js';

type GrantInput = IssueConsentOptions['grants'][number];

export const PROFILE = ['identity_basic', 'contact', 'loyalty_points'];
export const SG = { country: 'SG', recipient: 'Acme SG Support', mechanism: 'standard_contract' } as const;

export function grant(
  purpose: string,
  categories: string[],
  consentType: GrantInput['consentType'] = 'general',
  extra: Partial<GrantInput> = {},
): GrantInput {
  return { purpose, categories, ops: ['use'], consentType, ...extra };
}

/** One conformance behaviour: a request, and what the guard must answer and audit. */
export interface Behaviour {
  name: string;
  method?: 'get' | 'post';
  path: string;
  /** Overrides for `tokenFor()`; absent means no token is sent. */
  token?: Partial<IssueConsentOptions>;
  /** Withdraw the token's consent id before the request. */
  withdraw?: boolean;
  /** For a denial: the problem code. For a pass: the reason the handler sees and whether it is degraded. */
  expect: { code: ReasonCode } | { reason: ReasonCode; degraded: boolean };
  audit: { subject: string | null; basis?: string; cause?: ReasonCode };
}

const u1 = { subject: 'user-1' };

export const BEHAVIOURS: readonly Behaviour[] = [
  // Lawful bases and the plain consent path
  {
    name: 'contract basis without a token is allowed and its basis audited',
    path: '/orders/o-1',
    expect: { reason: 'lawful_basis', degraded: false },
    audit: { subject: null, basis: 'contract' },
  },
  {
    name: 'valid consent for the URL subject is allowed',
    path: '/users/user-1/profile',
    token: {},
    expect: { reason: 'consent_valid', degraded: false },
    audit: { ...u1, basis: 'consent' },
  },
  {
    name: '/me (no subject resolver) takes the subject from the token',
    path: '/me',
    token: {},
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: '/me without a token needs consent and audits no subject',
    path: '/me',
    expect: { code: 'consent_required' },
    audit: { subject: null },
  },
  {
    name: 'missing token on a consent route',
    path: '/users/user-1/profile',
    expect: { code: 'consent_required' },
    audit: u1,
  },
  {
    name: "token for user A on user B's URL",
    path: '/users/user-2/profile',
    token: {},
    expect: { code: 'subject_mismatch' },
    audit: { subject: 'user-2' },
  },
  {
    name: 'withdrawn consent (guard.withdraw(jti))',
    path: '/users/user-1/profile',
    token: {},
    withdraw: true,
    expect: { code: 'consent_withdrawn' },
    audit: u1,
  },
  {
    name: 'stale notice version needs re-consent',
    path: '/users/user-1/profile',
    token: { notice: { id: 'test-notice', version: 1 } },
    expect: { code: 'reconsent_required' },
    audit: u1,
  },
  {
    name: 'consent under another notice needs re-consent',
    path: '/users/user-1/profile',
    token: { notice: { id: 'other-notice', version: 9 } },
    expect: { code: 'reconsent_required' },
    audit: u1,
  },
  // Scope of the grant
  {
    name: 'purpose not granted',
    path: '/users/user-1/health',
    token: {},
    expect: { code: 'purpose_not_granted' },
    audit: u1,
  },
  {
    name: 'category not granted',
    path: '/users/user-1/profile',
    token: { grants: [grant('account.profile', ['identity_basic', 'contact'])] },
    expect: { code: 'category_not_granted' },
    audit: u1,
  },
  {
    name: 'operation not granted',
    path: '/users/user-1/profile',
    token: { grants: [grant('account.profile', PROFILE, 'general', { ops: ['store'] })] },
    expect: { code: 'operation_not_granted' },
    audit: u1,
  },
  // Sensitive PI (Art. 28-29)
  {
    name: 'sensitive category with general consent needs separate consent',
    path: '/users/user-1/health',
    token: { grants: [grant('health.records', ['medical_health'])] },
    expect: { code: 'sensitive_separate_consent_required' },
    audit: u1,
  },
  {
    name: 'sensitive category with separate consent is allowed',
    path: '/users/user-1/health',
    token: { grants: [grant('health.records', ['medical_health'], 'separate')] },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: 'written-consent purpose with general consent needs separate consent',
    path: '/users/user-1/card',
    token: { grants: [grant('payments.card', ['financial_account'])] },
    expect: { code: 'sensitive_separate_consent_required' },
    audit: u1,
  },
  {
    name: 'written-consent purpose with separate consent needs written consent',
    path: '/users/user-1/card',
    token: { grants: [grant('payments.card', ['financial_account'], 'separate')] },
    expect: { code: 'written_consent_required' },
    audit: u1,
  },
  {
    name: 'written-consent purpose with written consent is allowed',
    path: '/users/user-1/card',
    token: { grants: [grant('payments.card', ['financial_account'], 'written')] },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  // Children under 14 (Art. 31)
  {
    name: 'under14 sensitive data with separate consent needs the guardian',
    path: '/users/user-1/health',
    token: { ageBand: 'under14', grants: [grant('health.records', ['medical_health'], 'separate')] },
    expect: { code: 'guardian_consent_required' },
    audit: u1,
  },
  {
    name: 'under14 with guardian consent and guardian is allowed',
    path: '/users/user-1/health',
    token: {
      ageBand: 'under14',
      guardian: { id: 'parent-1', method: 'verified_account' },
      grants: [grant('health.records', ['medical_health'], 'guardian')],
    },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: 'under14 makes non-sensitive categories need the guardian',
    path: '/users/user-1/profile',
    token: { ageBand: 'under14', grants: [grant('account.profile', PROFILE)] },
    expect: { code: 'guardian_consent_required' },
    audit: u1,
  },
  {
    name: "under14 'guardian' consent type without a guardian object is refused",
    path: '/users/user-1/profile',
    token: { ageBand: 'under14', grants: [grant('account.profile', PROFILE, 'guardian')] },
    expect: { code: 'guardian_consent_required' },
    audit: u1,
  },
  {
    name: 'under14 non-sensitive categories with guardian consent are allowed',
    path: '/users/user-1/profile',
    token: {
      ageBand: 'under14',
      guardian: { id: 'parent-1', method: 'verified_account' },
      grants: [grant('account.profile', PROFILE, 'guardian')],
    },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: 'under14 written-consent purpose needs a written guardian consent',
    path: '/users/user-1/card',
    token: {
      ageBand: 'under14',
      guardian: { id: 'parent-1', method: 'verified_account' },
      grants: [grant('payments.card', ['financial_account'], 'guardian')],
    },
    expect: { code: 'written_consent_required' },
    audit: u1,
  },
  // Provide, disclose, cross-border (Art. 23, 25, 38-39)
  {
    name: 'provide without the named recipient',
    method: 'post',
    path: '/users/user-1/share',
    token: { grants: [grant('partner.delivery', ['contact'], 'separate', { ops: ['provide'] })] },
    expect: { code: 'recipient_not_granted' },
    audit: u1,
  },
  {
    name: 'provide naming another recipient',
    method: 'post',
    path: '/users/user-1/share',
    token: {
      grants: [
        grant('partner.delivery', ['contact'], 'separate', {
          ops: ['provide'],
          recipients: [{ name: 'Other' }],
        }),
      ],
    },
    expect: { code: 'recipient_not_granted' },
    audit: u1,
  },
  {
    name: 'provide with the recipient but only general consent',
    method: 'post',
    path: '/users/user-1/share',
    token: {
      grants: [
        grant('partner.delivery', ['contact'], 'general', {
          ops: ['provide'],
          recipients: [{ name: 'AcmeLogistics' }],
        }),
      ],
    },
    expect: { code: 'provision_separate_consent_required' },
    audit: u1,
  },
  {
    name: 'provide with the named recipient and separate consent',
    method: 'post',
    path: '/users/user-1/share',
    token: {
      grants: [
        grant('partner.delivery', ['contact'], 'separate', {
          ops: ['provide'],
          recipients: [{ name: 'AcmeLogistics' }],
        }),
      ],
    },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: 'disclose with general consent needs separate consent',
    method: 'post',
    path: '/users/user-1/publish',
    token: { grants: [grant('profile.publish', ['identity_basic'], 'general', { ops: ['disclose'] })] },
    expect: { code: 'disclosure_separate_consent_required' },
    audit: u1,
  },
  {
    name: 'disclose with separate consent',
    method: 'post',
    path: '/users/user-1/publish',
    token: { grants: [grant('profile.publish', ['identity_basic'], 'separate', { ops: ['disclose'] })] },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  ...(
    [
      ['no transfer named', undefined],
      ['another country', { ...SG, country: 'MY' }],
      ['another recipient', { ...SG, recipient: 'Someone Else' }],
    ] as const
  ).map(
    ([what, crossBorder]): Behaviour => ({
      name: `cross_border with ${what} is not granted`,
      method: 'post',
      path: '/users/user-1/overseas',
      token: {
        grants: [
          grant('support.overseas', ['contact'], 'separate', {
            ops: ['cross_border'],
            ...(crossBorder ? { crossBorder } : {}),
          }),
        ],
      },
      expect: { code: 'cross_border_not_granted' },
      audit: u1,
    }),
  ),
  {
    name: 'cross_border matching but only general consent',
    method: 'post',
    path: '/users/user-1/overseas',
    token: {
      grants: [grant('support.overseas', ['contact'], 'general', { ops: ['cross_border'], crossBorder: SG })],
    },
    expect: { code: 'cross_border_separate_consent_required' },
    audit: u1,
  },
  {
    name: 'cross_border with matching country, recipient and mechanism',
    method: 'post',
    path: '/users/user-1/overseas',
    token: {
      grants: [
        grant('support.overseas', ['contact'], 'separate', { ops: ['cross_border'], crossBorder: SG }),
      ],
    },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  // Personalisation (Art. 16, 24)
  {
    name: 'personalisation with consent is not degraded',
    path: '/users/user-1/recommendations',
    token: { grants: [grant('marketing.personalized', ['behavior'])] },
    expect: { reason: 'consent_valid', degraded: false },
    audit: u1,
  },
  {
    name: 'personalisation opt-out degrades',
    path: '/users/user-1/recommendations',
    token: { personalization: false, grants: [grant('marketing.personalized', ['behavior'])] },
    expect: { reason: 'degraded_personalization_opt_out', degraded: true },
    audit: u1,
  },
  {
    name: 'degrade purpose without a token runs degraded',
    path: '/users/user-1/recommendations',
    expect: { reason: 'degraded_no_consent', degraded: true },
    audit: { ...u1, cause: 'consent_required' },
  },
  {
    name: 'degrade purpose with consent for other purposes runs degraded',
    path: '/users/user-1/recommendations',
    token: {},
    expect: { reason: 'degraded_no_consent', degraded: true },
    audit: { ...u1, cause: 'purpose_not_granted' },
  },
  {
    name: 'degrade purpose with withdrawn consent runs degraded',
    path: '/users/user-1/recommendations',
    token: { grants: [grant('marketing.personalized', ['behavior'])] },
    withdraw: true,
    expect: { reason: 'degraded_no_consent', degraded: true },
    audit: { ...u1, cause: 'consent_withdrawn' },
  },
  {
    name: 'degrade purpose still refuses a token for another subject',
    path: '/users/user-2/recommendations',
    token: { grants: [grant('marketing.personalized', ['behavior'])] },
    expect: { code: 'subject_mismatch' },
    audit: { subject: 'user-2' },
  },
];

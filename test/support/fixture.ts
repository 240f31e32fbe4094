import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  type AuditSink,
  createPiplGuard,
  definePolicy,
  type IssueConsentOptions,
  issueConsentToken,
  memoryAuditSink,
  memoryRevocationStore,
  type PiplGuardOptions,
} from '../../src/index.js';

export const ISSUER = 'https://consent.test';
export const AUDIENCE = 'pipl-guard-tests';
export const AUDIT_KEY = 'test-audit-key-0123456789abcdef-0123456789';

/** The policy every conformance and attack test runs against. */
export const policy = definePolicy({
  notice: { id: 'test-notice', version: 2 },
  categories: { loyalty_points: { sensitive: false } },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['identity_basic', 'contact'],
      operations: ['use'],
      necessaryForService: true,
    },
    'account.profile': {
      basis: 'consent',
      categories: ['identity_basic', 'contact', 'loyalty_points'],
      operations: ['use', 'store'],
      necessaryForService: true,
      // Art. 14(2): its categories changed with notice version 2, so consent under version 1 is stale.
      changedAt: 2,
    },
    'marketing.personalized': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-TEST-1',
    },
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-TEST-2',
    },
    'payments.card': {
      basis: 'consent',
      categories: ['financial_account'],
      operations: ['use'],
      necessaryForService: true,
      writtenConsent: true,
      piaRef: 'PIA-TEST-3',
    },
    'partner.delivery': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-TEST-4',
    },
    'profile.publish': {
      basis: 'consent',
      categories: ['identity_basic'],
      operations: ['disclose'],
      necessaryForService: false,
      piaRef: 'PIA-TEST-5',
    },
    'support.overseas': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['cross_border'],
      necessaryForService: false,
      piaRef: 'PIA-TEST-6',
      // Art. 38(1): the company declares the mechanism; the token's `mechanism` is ignored.
      transfers: [
        {
          country: 'SG',
          recipient: 'Acme SG Support',
          mechanism: 'standard_contract',
          reference: 'SC-FILING-TEST-1',
          validFrom: '2020-01-01',
          validUntil: '2099-12-31',
        },
      ],
    },
  },
});

export type TestPurpose = typeof policy extends { purposes: ReadonlyMap<infer P, unknown> } ? P : never;

export interface Keys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKeys(
  alg: 'ES256' | 'EdDSA' | 'RS256' = 'ES256',
  kid = 'test-key-1',
): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, publicKey, publicJwk };
}

/** Issues a token for this test suite; every field can be overridden. */
export function tokenFor(keys: Keys, overrides: Partial<IssueConsentOptions> = {}): Promise<string> {
  return issueConsentToken({
    privateKey: keys.privateKey,
    alg: 'ES256',
    kid: 'test-key-1',
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'user-1',
    notice: { id: 'test-notice', version: 2 },
    grants: [
      {
        purpose: 'account.profile',
        categories: ['identity_basic', 'contact', 'loyalty_points'],
        ops: ['use', 'store'],
        consentType: 'general',
      },
    ],
    ...overrides,
  });
}

/** Builds guard options sharing one sink and revocation store, so a test can inspect both. */
export function guardOptions(
  keys: Keys,
  extra: Partial<PiplGuardOptions<TestPurpose, 'loyalty_points'>> = {},
) {
  const audit: AuditSink & { records: readonly unknown[] } = memoryAuditSink();
  const revocations = memoryRevocationStore();
  const options: PiplGuardOptions<TestPurpose, 'loyalty_points'> = {
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    revocations,
    audit: { sink: audit, subjectKey: AUDIT_KEY },
    ...extra,
  };
  return { options, audit, revocations, guard: createPiplGuard(options) };
}

import { randomUUID } from 'node:crypto';
import { type CryptoKey, type JWK, type KeyObject, SignJWT } from 'jose';
import { PiplConfigError } from '../errors/errors.js';
import type { AgeBand, GuardianMethod } from '../taxonomy/taxonomy.js';
import {
  CONSENT_CLAIM,
  CONSENT_TOKEN_TYPE,
  type ConsentClaim,
  consentClaimSchema,
  type Grant,
} from './claims.js';
import type { ConsentAlgorithm } from './verify.js';

export interface IssueConsentOptions {
  /** Private signing key (KeyObject, CryptoKey, or private JWK). */
  privateKey: KeyObject | CryptoKey | JWK | Uint8Array;
  alg: ConsentAlgorithm;
  kid?: string;
  issuer: string;
  audience: string | string[];
  /** Pseudonymous id of the data subject. */
  subject: string;
  /** Consent record id (`jti`); generated when absent. */
  consentId?: string;
  /** Lifetime in seconds (default 3600). */
  expiresInSec?: number;
  notice: { id: string; version: number };
  ageBand?: AgeBand;
  guardian?: { id: string; method: GuardianMethod };
  /** The subject's choices that are not grants: `{ personalization: false }` is the Art. 24 opt-out. */
  prefs?: { personalization?: boolean };
  /** @deprecated Use `prefs: { personalization }` (the claim's own shape). Kept for existing callers. */
  personalization?: boolean;
  grants: readonly (Omit<Grant, 'givenAt'> & { givenAt?: number })[];
  /** Override `iat`/`nbf` base, epoch seconds. For tests and back-dated issuance by a consent service. */
  now?: number;
  typ?: string;
}

/**
 * Issues a consent token with the same claim schema the verifier enforces. For consent services,
 * tests and demos; an API that only checks consent never needs it.
 *
 * @example
 * ```ts
 * const { privateKey } = await generateKeyPair('ES256');
 * const token = await issueConsentToken({
 *   privateKey, alg: 'ES256', issuer: 'https://consent.example.cn', audience: 'orders-api',
 *   subject: 'u_123', notice: { id: 'shop-privacy', version: 3 },
 *   grants: [{ purpose: 'marketing.email', categories: ['contact'], ops: ['use'], consentType: 'general' }],
 * });
 * ```
 */
export async function issueConsentToken(options: IssueConsentOptions): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const personalization = options.prefs?.personalization ?? options.personalization;
  const claim = {
    v: 1,
    notice: options.notice,
    subject: {
      ageBand: options.ageBand ?? 'adult',
      ...(options.guardian ? { guardian: options.guardian } : {}),
    },
    ...(personalization === undefined ? {} : { prefs: { personalization } }),
    grants: options.grants.map((grant) => ({ ...grant, givenAt: grant.givenAt ?? now })),
  };
  const checked = consentClaimSchema.safeParse(claim);
  if (!checked.success) {
    const fields = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new PiplConfigError(`Consent claims are invalid: ${fields.join('; ')}`);
  }
  const consent: ConsentClaim = checked.data;
  return new SignJWT({ [CONSENT_CLAIM]: consent })
    .setProtectedHeader({
      alg: options.alg,
      typ: options.typ ?? CONSENT_TOKEN_TYPE,
      ...(options.kid ? { kid: options.kid } : {}),
    })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setJti(options.consentId ?? randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.expiresInSec ?? 3600))
    .sign(options.privateKey as CryptoKey);
}

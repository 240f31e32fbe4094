import { z } from 'zod';
import {
  type AgeBand,
  ageBandSchema,
  type ConsentType,
  consentTypeSchema,
  type GuardianMethod,
  guardianMethodSchema,
  type Operation,
  operationSchema,
} from '../taxonomy/taxonomy.js';

/** Name of the private claim that carries the consent (RFC 7519 §4.2: a collision-resistant name). */
export const CONSENT_CLAIM = 'urn:pipl-guard:consent';
/** Default `typ` header of a consent token (RFC 8725 §3.11 explicit typing). */
export const CONSENT_TOKEN_TYPE = 'pipl-consent+jwt';

const text = z.string().min(1).max(256);

const grantSchema = z.object({
  purpose: text,
  categories: z.array(text).min(1).max(64),
  ops: z.array(operationSchema).min(1),
  consentType: consentTypeSchema,
  recipients: z
    .array(z.object({ name: text, role: z.enum(['handler', 'entrusted']).optional() }))
    .max(32)
    .optional(),
  // `mechanism` is accepted for tokens issued before 0.2 and ignored: the company declares the
  // mechanism in its policy (Art. 38(1)); the subject's token cannot vouch for it.
  crossBorder: z
    .object({ country: z.string().regex(/^[A-Z]{2}$/), recipient: text, mechanism: text.optional() })
    .optional(),
  givenAt: z.number().int().nonnegative(),
});

export const consentClaimSchema = z.object({
  v: z.literal(1),
  notice: z.object({ id: text, version: z.number().int().nonnegative() }),
  subject: z.object({
    ageBand: ageBandSchema,
    guardian: z.object({ id: text, method: guardianMethodSchema }).optional(),
  }),
  /** Subject's choices that are not grants. `personalization: false` is the Art. 24 opt-out. */
  prefs: z.object({ personalization: z.boolean().optional() }).optional(),
  grants: z.array(grantSchema).max(64),
});

export const consentClaimsSchema = z.object({
  iss: text,
  sub: text,
  jti: z.string().min(1).max(128),
  iat: z.number().int(),
  exp: z.number().int(),
  nbf: z.number().int().optional(),
  [CONSENT_CLAIM]: consentClaimSchema,
});

/** One grant of consent: a purpose with the categories and operations it covers. */
export interface Grant {
  readonly purpose: string;
  readonly categories: readonly string[];
  readonly ops: readonly Operation[];
  readonly consentType: ConsentType;
  readonly recipients?: readonly { readonly name: string; readonly role?: 'handler' | 'entrusted' }[];
  readonly crossBorder?: {
    readonly country: string;
    readonly recipient: string;
    /** @deprecated Ignored: the policy declares transfer mechanisms (Art. 38(1)), never the token. */
    readonly mechanism?: string;
  };
  /** When the subject gave it, epoch seconds. */
  readonly givenAt: number;
}

/** A consent token that passed signature, claim and schema checks. Status (withdrawn) is looked up, not trusted. */
export interface VerifiedConsent {
  /** Consent record id (`jti`): what withdrawal revokes. */
  readonly id: string;
  /** Pseudonymous data-subject id (`sub`). */
  readonly subject: string;
  readonly issuer: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly notice: { readonly id: string; readonly version: number };
  readonly ageBand: AgeBand;
  readonly guardian: { readonly id: string; readonly method: GuardianMethod } | undefined;
  /** False when the subject opted out of personalised processing (Art. 24). */
  readonly personalization: boolean;
  readonly grants: readonly Grant[];
}

export type ConsentClaim = z.infer<typeof consentClaimSchema>;

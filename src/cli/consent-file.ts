import { z } from 'zod';
import type { IssueConsentOptions } from '../consent/issue.js';
import { UsageError } from './sources.js';

// Strict at every level: a misspelt field (`agaBand`, `consentTyp`) is an error, never dropped
// silently. A dropped `prefs` once gave an opted-out user (Art. 24) a token that said nothing.
const text = z.string().min(1);
const grant = z.strictObject({
  purpose: text,
  categories: z.array(text),
  ops: z.array(text),
  consentType: text,
  recipients: z.array(z.strictObject({ name: text, role: text.optional() })).optional(),
  crossBorder: z.strictObject({ country: text, mechanism: text, recipient: text }).optional(),
  givenAt: z.number().optional(),
});

const consentFileSchema = z.strictObject({
  issuer: text,
  audience: z.union([text, z.array(text)]),
  subject: text,
  consentId: text.optional(),
  expiresInSec: z.number().optional(),
  notice: z.strictObject({ id: text, version: z.number() }),
  ageBand: text.optional(),
  guardian: z.strictObject({ id: text, method: text }).optional(),
  prefs: z.strictObject({ personalization: z.boolean().optional() }).optional(),
  grants: z.array(grant),
  now: z.number().optional(),
  typ: text.optional(),
});

/** The options a `consent.json` may hold: `issueConsentToken` options without key and algorithm. */
export type ConsentFile = Omit<IssueConsentOptions, 'privateKey' | 'alg' | 'personalization'>;

/**
 * Checks `consent.json` for `pipl-guard token issue`: the documented shape only (the claim's own
 * `prefs: { personalization }`), unknown fields refused by name. Values are checked again, against
 * the verifier's schema, when the token is signed.
 */
export function parseConsentFile(body: unknown): ConsentFile {
  if (typeof body === 'object' && body !== null && 'personalization' in body) {
    throw new UsageError(
      '--consent: top-level "personalization" is not a field; write "prefs": { "personalization": false }',
    );
  }
  const checked = consentFileSchema.safeParse(body);
  if (!checked.success) {
    const fields = checked.error.issues.map((issue) => {
      const where = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => (where ? `${where}.${key}` : key));
        return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${where || '(root)'}: ${issue.message}`;
    });
    throw new UsageError(`--consent: ${fields.join('; ')}`);
  }
  return checked.data as ConsentFile;
}

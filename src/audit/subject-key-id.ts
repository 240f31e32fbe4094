import { createHmac } from 'node:crypto';

/**
 * A short, public fingerprint of the subject key (the HMAC key that pseudonymises subject ids).
 * The guard stamps it on every decision record (`enforcer.subjectKeyId`), so whoever searches the
 * log for a subject learns that their key is not the one the log was written with, instead of
 * being told "0 records". It is an HMAC of a fixed label under the key: it reveals nothing about
 * the key, and no pseudonym can equal it.
 *
 * @example
 * ```ts
 * const id = subjectKeyId(process.env.PIPL_AUDIT_KEY!); // e.g. 'k1:3nV0yq2-G6h9Zt0w'
 * ```
 */
export function subjectKeyId(key: string | Uint8Array): string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  return `k1:${createHmac('sha256', bytes).update('pipl-guard/subject-key-id/v1').digest('base64url').slice(0, 16)}`;
}

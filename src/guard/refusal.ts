import type { DenyReason } from '../errors/codes.js';
import { PiplGuardError } from '../errors/errors.js';

/** How long a client should wait before retrying an infrastructure refusal, in seconds. */
const RETRY_AFTER: Partial<Record<DenyReason, string>> = {
  audit_unavailable: '5',
  keys_unavailable: '30',
  revocation_unavailable: '5',
  guard_unavailable: '5',
};

/**
 * Builds refusals with the headers their status calls for: `WWW-Authenticate` on token problems
 * (RFC 6750 §3 error codes, under the scheme the token location implies) and `Retry-After` on 503s.
 */
export function createRefusals(scheme: 'Bearer' | 'PIPL-Consent') {
  const challenge = (error: string, code?: string) =>
    `${scheme} realm="pipl-guard", error="${error}"${code ? `, error_description="${code}"` : ''}`;

  function headersFor(code: DenyReason): Record<string, string> {
    if (code === 'token_ambiguous') return { 'www-authenticate': challenge('invalid_request') };
    const retry = RETRY_AFTER[code];
    if (retry) return { 'retry-after': retry };
    if (code.startsWith('token_') || code === 'claims_invalid') {
      return { 'www-authenticate': challenge('invalid_token', code) };
    }
    return {};
  }

  return function refusal(code: DenyReason, detail?: string): PiplGuardError {
    return new PiplGuardError(code, detail, headersFor(code));
  };
}

import { createHmac } from 'node:crypto';
import { PiplConfigError } from '../errors/errors.js';

/**
 * Returns a function that replaces a subject id by `hmac-sha256:` + base64url(HMAC(key, id)).
 * The key is held apart from the log: with it, a subject-access request becomes a lookup; without
 * it, the log does not reveal who the subjects are.
 */
export function createPseudonymizer(key: string | Uint8Array): (subjectId: string) => string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length < 32) {
    throw new PiplConfigError(
      'audit.subjectKey must be at least 32 bytes; generate one with: node -p "crypto.randomBytes(32).toString("base64url")"',
    );
  }
  // The same subjects come back request after request; remembering a bounded number of results
  // saves an HMAC each time. The map lives in process memory only, like the request itself.
  const recent = new Map<string, string>();
  return function pseudonymizeSubject(subjectId) {
    let pseudonym = recent.get(subjectId);
    if (pseudonym === undefined) {
      pseudonym = `hmac-sha256:${createHmac('sha256', bytes).update(subjectId).digest('base64url')}`;
      if (recent.size >= 10_000) recent.clear();
      recent.set(subjectId, pseudonym);
    }
    return pseudonym;
  };
}

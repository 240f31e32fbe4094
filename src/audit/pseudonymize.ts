import { createHmac } from 'node:crypto';
import { PiplConfigError } from '../errors/errors.js';

/** Most subject ids the cache remembers. */
const MAX_CACHE_ENTRIES = 10_000;
/**
 * Most memory the cache may hold, counting both strings at 2 bytes a character plus the map entry.
 * Bounded by bytes, not only count: ids come from requests, and 10,000 ids of 15 KB held 150 MB.
 */
export const PSEUDONYM_CACHE_BYTES = 2 * 1024 * 1024;
/** Longer ids are pseudonymised every time, never cached: they would only push real subjects out. */
const MAX_CACHED_ID = 256;
const ENTRY_OVERHEAD = 64;

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
  // The same subjects come back request after request; remembering recent results saves an HMAC
  // each time. The map lives in process memory only, like the request itself, and is bounded by
  // count and by bytes; the oldest entries go first.
  const recent = new Map<string, string>();
  let cachedBytes = 0;
  const sizeOf = (id: string, pseudonym: string) => (id.length + pseudonym.length) * 2 + ENTRY_OVERHEAD;

  return function pseudonymizeSubject(subjectId) {
    const cached = recent.get(subjectId);
    if (cached !== undefined) return cached;
    const pseudonym = `hmac-sha256:${createHmac('sha256', bytes).update(subjectId).digest('base64url')}`;
    if (subjectId.length > MAX_CACHED_ID) return pseudonym;
    cachedBytes += sizeOf(subjectId, pseudonym);
    recent.set(subjectId, pseudonym);
    while (recent.size > MAX_CACHE_ENTRIES || cachedBytes > PSEUDONYM_CACHE_BYTES) {
      const oldest = recent.entries().next().value;
      if (oldest === undefined) break;
      recent.delete(oldest[0]);
      cachedBytes -= sizeOf(oldest[0], oldest[1]);
    }
    return pseudonym;
  };
}

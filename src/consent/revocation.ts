/**
 * Where withdrawn consent ids (`jti`) are looked up on every request (Art. 15). A token never says
 * whether it was withdrawn; the store does.
 */
export interface RevocationStore {
  /** True when the consent was withdrawn. Throwing or rejecting makes the guard fail closed (503). */
  isRevoked(consentId: string): boolean | Promise<boolean>;
  /** Withdraws a consent. `until` (epoch seconds, usually the token's `exp`) lets the store forget it later. */
  revoke(consentId: string, until?: number): void | Promise<void>;
  /** Optional start-up check called by `pipl.ready()`; without it, `ready()` looks up one id instead. */
  ready?(): Promise<void>;
}

/**
 * In-process withdrawal list. Right for one instance and for tests; several instances need a shared
 * store so a withdrawal reaches all of them at once.
 */
export function memoryRevocationStore(): RevocationStore {
  const revoked = new Map<string, number>();
  return {
    isRevoked(consentId) {
      const until = revoked.get(consentId);
      if (until === undefined) return false;
      // Kept past `until` by more than any clock tolerance, so an expired token cannot come back.
      if (until + 600 < Date.now() / 1000) {
        revoked.delete(consentId);
        return false;
      }
      return true;
    },
    revoke(consentId, until = Number.POSITIVE_INFINITY) {
      revoked.set(consentId, until);
    },
  };
}

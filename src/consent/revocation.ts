/**
 * Where withdrawn consent ids (`jti`) are looked up on every request (Art. 15). A token never says
 * whether it was withdrawn; the store does.
 */
export interface RevocationStore {
  /**
   * True when the consent was withdrawn. Throwing, rejecting, or answering anything but a boolean
   * (`undefined`, ioredis's `0`/`1`) makes the guard fail closed (503 `revocation_unavailable`).
   */
  isRevoked(consentId: string): boolean | Promise<boolean>;
  /**
   * Withdraws a consent. `until` (epoch seconds: the latest `exp` of any token carrying this consent
   * id) lets the store forget it {@link REVOCATION_GRACE_SEC} after that; without it, it is kept for
   * good. An `until` in the past is refused with a `RangeError` (see {@link withdrawalExpiry}).
   */
  revoke(consentId: string, until?: number): void | Promise<void>;
  /** Optional start-up check called by `pipl.ready()`; without it, `ready()` looks up one id instead. */
  ready?(): Promise<void>;
}

/**
 * Withdrawn ids are kept this long (seconds) past `until`, more than any clock tolerance
 * (`clockToleranceSec` is at most 300), so a withdrawn token cannot verify again just after its
 * `exp`.
 */
export const REVOCATION_GRACE_SEC = 600;

/**
 * When a withdrawal given `until` may be forgotten (epoch seconds; `Infinity` without `until`).
 * Throws a `RangeError` for an `until` that is not a number or lies in the past: the `exp` of an
 * older token is no bound for newer tokens of the same consent, and storing nothing (or forgetting
 * at once) would let a current token for the withdrawn consent through (Art. 15).
 */
export function withdrawalExpiry(until: number | undefined, nowSec = Date.now() / 1000): number {
  if (until === undefined) return Number.POSITIVE_INFINITY;
  if (typeof until !== 'number' || Number.isNaN(until)) {
    throw new RangeError('withdraw: `until` must be epoch seconds (the latest token `exp`)');
  }
  if (until < nowSec) {
    const when = Number.isFinite(until) ? new Date(until * 1000).toISOString() : String(until);
    throw new RangeError(
      `withdraw: \`until\` (${until}, ${when}) is in the past. A withdrawal must outlive every token that carries the consent id: pass the latest \`exp\` among them, or omit \`until\` to keep the withdrawal for good.`,
    );
  }
  return until + REVOCATION_GRACE_SEC;
}

/**
 * In-process withdrawal list. Right for one instance and for tests; several instances need a shared
 * store so a withdrawal reaches all of them at once.
 */
export function memoryRevocationStore(): RevocationStore {
  const revoked = new Map<string, number>();
  return {
    isRevoked(consentId) {
      const expiry = revoked.get(consentId);
      if (expiry === undefined) return false;
      if (expiry < Date.now() / 1000) {
        revoked.delete(consentId);
        return false;
      }
      return true;
    },
    revoke(consentId, until) {
      revoked.set(consentId, withdrawalExpiry(until));
    },
  };
}

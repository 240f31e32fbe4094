import { NOTHING_WITHDRAWN, type OptOutKind, type SubjectStore } from './store.js';

/** Kept past a consent's `exp` by more than any clock tolerance, like the revocation stores. */
const GRACE_SEC = 600;

interface Entry {
  consents: Map<string, { at: number; until: number }>;
  purposes: Map<string, number>;
  all: number | undefined;
  optedOut: { personalization: boolean; marketing: boolean };
}

/**
 * In-process withdrawals and preferences. Right for one instance and for tests; several instances
 * need `redisSubjectStore` (`pipl-guard/redis`) so a change applies on all of them.
 *
 * @example
 * ```ts
 * const subjects = memorySubjectStore();
 * const pipl = createPiplGuard({ policy, consent, audit, subjects });
 * ```
 */
export function memorySubjectStore(): SubjectStore {
  const subjects = new Map<string, Entry>();
  /** Consent id → owner, so a lookup by id alone (token without route subject) still finds it. */
  const byConsent = new Map<string, { at: number; until: number }>();

  function entry(subject: string): Entry {
    let found = subjects.get(subject);
    if (!found) {
      found = {
        consents: new Map(),
        purposes: new Map(),
        all: undefined,
        optedOut: { personalization: false, marketing: false },
      };
      subjects.set(subject, found);
    }
    return found;
  }

  return {
    lookup({ subject, consentId, purpose }) {
      const found = subject === undefined ? undefined : subjects.get(subject);
      const consent = consentId === undefined ? undefined : byConsent.get(consentId);
      if (!found && !consent) return NOTHING_WITHDRAWN;
      return {
        consentWithdrawn: consent !== undefined && consent.until + GRACE_SEC >= Date.now() / 1000,
        allWithdrawnAt: found?.all,
        purposeWithdrawnAt: found?.purposes.get(purpose),
        optedOut: { ...(found?.optedOut ?? NOTHING_WITHDRAWN.optedOut) },
      };
    },
    withdrawConsent({ consentId, at, until = Number.POSITIVE_INFINITY, subject }) {
      const withdrawal = { at, until };
      if (subject !== undefined) entry(subject).consents.set(consentId, withdrawal);
      byConsent.set(consentId, withdrawal);
    },
    withdrawPurpose(subject, purpose, at) {
      entry(subject).purposes.set(purpose, at);
    },
    withdrawAll(subject, at) {
      entry(subject).all = at;
    },
    setOptOut(subject, kind: OptOutKind, optedOut) {
      entry(subject).optedOut[kind] = optedOut;
    },
    list(subject) {
      const found = subjects.get(subject);
      return {
        consents: [...(found?.consents ?? [])].map(([id, { at }]) => ({ id, withdrawnAt: at })),
        purposes: [...(found?.purposes ?? [])].map(([purpose, at]) => ({ purpose, withdrawnAt: at })),
        allWithdrawnAt: found?.all,
        optedOut: { ...(found?.optedOut ?? NOTHING_WITHDRAWN.optedOut) },
      };
    },
  };
}

/** Kinds of processing a data subject can refuse without withdrawing any consent (Art. 24(2), 44). */
export const OPT_OUT_KINDS = ['personalization', 'marketing'] as const;
export type OptOutKind = (typeof OPT_OUT_KINDS)[number];

/** What the guard asks the store on a request: one lookup, whatever the lawful basis. */
export interface SubjectQuery {
  /** The data subject, when the request names one (route resolver or the token's `sub`). */
  readonly subject: string | undefined;
  /** The consent record id (`jti`) the request carries, if any. */
  readonly consentId: string | undefined;
  /** The purpose the route serves. */
  readonly purpose: string;
}

/** The store's answer for one request. */
export interface SubjectState {
  /** This consent id was withdrawn (Art. 15). */
  readonly consentWithdrawn: boolean;
  /** Epoch seconds of the subject's "withdraw everything"; consents issued up to then are withdrawn. */
  readonly allWithdrawnAt: number | undefined;
  /** Epoch seconds of the subject's withdrawal of this purpose; consents issued up to then no longer cover it. */
  readonly purposeWithdrawnAt: number | undefined;
  /** Opt-outs in force for the subject, on every lawful basis (Art. 24(2) does not depend on consent). */
  readonly optedOut: { readonly personalization: boolean; readonly marketing: boolean };
}

/** Everything the store holds about one subject: what `GET` on the subject endpoint lists. */
export interface SubjectRecord {
  readonly consents: readonly { readonly id: string; readonly withdrawnAt: number }[];
  readonly purposes: readonly { readonly purpose: string; readonly withdrawnAt: number }[];
  readonly allWithdrawnAt: number | undefined;
  readonly optedOut: { readonly personalization: boolean; readonly marketing: boolean };
}

/**
 * Server-side withdrawals and preferences of data subjects. The guard calls `lookup` on every request;
 * a store that throws, rejects, or answers something that is not a whole {@link SubjectState} (with
 * boolean flags, numeric times) makes it fail closed (503 `revocation_unavailable`).
 * Times are epoch seconds.
 */
export interface SubjectStore {
  lookup(query: SubjectQuery): SubjectState | Promise<SubjectState>;
  /**
   * Withdraws one consent. `until` (the token's `exp`) lets the store forget it later; `subject`, when
   * known, lists it among the subject's withdrawals.
   */
  withdrawConsent(withdrawal: {
    consentId: string;
    at: number;
    until?: number | undefined;
    subject?: string | undefined;
  }): void | Promise<void>;
  /** Withdraws one purpose of the subject: consents issued up to `at` no longer cover it. */
  withdrawPurpose(subject: string, purpose: string, at: number): void | Promise<void>;
  /** Withdraws everything of the subject: consents issued up to `at` are withdrawn. */
  withdrawAll(subject: string, at: number): void | Promise<void>;
  /** `optedOut: true` refuses that kind of processing; `false` opts back in. */
  setOptOut(subject: string, kind: OptOutKind, optedOut: boolean): void | Promise<void>;
  list(subject: string): SubjectRecord | Promise<SubjectRecord>;
}

/** Is a consent issued at `issuedAt` (epoch seconds) withdrawn, given the store's answer? */
export function isWithdrawnBy(state: SubjectState, issuedAt: number): boolean {
  if (state.consentWithdrawn) return true;
  if (state.allWithdrawnAt !== undefined && issuedAt <= state.allWithdrawnAt) return true;
  return state.purposeWithdrawnAt !== undefined && issuedAt <= state.purposeWithdrawnAt;
}

export const NOTHING_WITHDRAWN: SubjectState = Object.freeze({
  consentWithdrawn: false,
  allWithdrawnAt: undefined,
  purposeWithdrawnAt: undefined,
  optedOut: Object.freeze({ personalization: false, marketing: false }),
});

/** A consent of the subject as the application's consent service records it. */
export interface ConsentSummary {
  /** The consent record id (`jti` of its tokens). */
  id: string;
  /** Purposes it grants. */
  purposes: readonly string[];
  /** When it was given / expires, epoch seconds. `expiresAt` lets the store forget a withdrawal later. */
  givenAt?: number;
  expiresAt?: number;
}

/** What a withdrawal covered, handed to `onWithdraw`. */
export interface Withdrawal {
  subject: string;
  scope: 'consent' | 'purpose' | 'all';
  consentId?: string;
  purpose?: string;
  /** Epoch seconds. */
  at: number;
  actor: { id: string; type?: string };
}

export interface SubjectRoutesOptions<R> {
  /**
   * Who is calling, as the application authenticates them (session, OAuth token...): their subject id
   * (or `{ id, type }`), or undefined when unauthenticated (401 `subject_unauthenticated`).
   */
  authenticate: (
    request: R,
  ) =>
    | { id: string; type?: string }
    | string
    | undefined
    | Promise<{ id: string; type?: string } | string | undefined>;
  /** The subject's consents, from the consent service. A consent id not listed here is 404 `consent_unknown`. */
  consents: (subject: string) => readonly ConsentSummary[] | Promise<readonly ConsentSummary[]>;
  /**
   * Called after each withdrawal, e.g. to start deleting what the consent covered (Art. 47(1)).
   * Return `{ reference }` (or `{}`) when deletion was started: the log gets a `deletion_started` record.
   */
  onWithdraw?: (
    withdrawal: Withdrawal,
    // biome-ignore lint/suspicious/noConfusingVoidType: an async hook that starts nothing returns Promise<void>
  ) => void | { reference?: string } | Promise<void | { reference?: string }>;
}

/** One answer of a subject endpoint: JSON or problem+json. */
export interface SubjectAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

import type { OptOutKind } from '../subject/store.js';

/** Who acted, which instance recorded it, and how the attempt ended. Shared by every subject event. */
interface SubjectEventBase {
  requestId: string;
  /** Who made the change: the subject, or an agent acting for them; the id pseudonymised like `subject`. */
  actor: { id: string; type?: string } | null;
  /** The data subject acted on, HMAC-pseudonymised like every subject in the log. */
  subject: string | null;
  /** `done`: applied. `refused`: not applied, the request was wrong (`reason`). `failed`: not applied, a store was down. */
  result: 'done' | 'refused' | 'failed';
  /** Stable code for `refused` / `failed`. */
  reason?: string;
  /** HTTP status answered; absent when no HTTP request made the change (`pipl.withdraw()`). */
  status?: number;
  enforcer: { service: string; instance: string; version: string };
}

/** A withdrawal of consent (Art. 15): one consent, one purpose, or everything of the subject. */
export interface WithdrawalEvent extends SubjectEventBase {
  type: 'consent_withdrawal';
  scope: 'consent' | 'purpose' | 'all' | null;
  consentId?: string;
  purpose?: string;
  /** `api`: the application withdrew it through `pipl.withdraw()`; absent: the subject's endpoint. */
  via?: 'api';
}

/** An opt-out of (or back into) personalisation or marketing (Art. 24(2), 44). */
export interface PreferenceEvent extends SubjectEventBase {
  type: 'preference_change';
  kind: OptOutKind | null;
  optedOut: boolean | null;
}

/**
 * What the application's `onWithdraw` hook started after a withdrawal, e.g. deletion (Art. 47(1)).
 * `result: 'done'` means started, not finished.
 */
export interface DeletionStartedEvent extends SubjectEventBase {
  type: 'deletion_started';
  scope: 'consent' | 'purpose' | 'all';
  purpose?: string;
  consentId?: string;
  /** The application's reference for the deletion job, if it gave one. */
  reference?: string;
}

export type SubjectEvent = WithdrawalEvent | PreferenceEvent | DeletionStartedEvent;

import type {
  DeletionStartedEvent,
  PreferenceEvent,
  SubjectEvent,
  WithdrawalEvent,
} from '../audit/subject-events.js';

type Input<E extends SubjectEvent> = Omit<E, 'enforcer'>;

/** A subject event as callers give it: the subject in clear (pseudonymised on write), no enforcer. */
export type SubjectEventInput = Input<WithdrawalEvent> | Input<PreferenceEvent> | Input<DeletionStartedEvent>;

export type {
  DeletionStartedEvent,
  PreferenceEvent,
  SubjectEvent,
  WithdrawalEvent,
} from '../audit/subject-events.js';
export type { SubjectEventInput } from './audit.js';
export type { ConsentSummary, SubjectAnswer, SubjectRoutesOptions, Withdrawal } from './endpoint-types.js';
export { memorySubjectStore } from './memory-store.js';
export {
  isWithdrawnBy,
  OPT_OUT_KINDS,
  type OptOutKind,
  type SubjectQuery,
  type SubjectRecord,
  type SubjectState,
  type SubjectStore,
} from './store.js';

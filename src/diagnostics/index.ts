export {
  AUDIT_CHANNEL,
  type AuditHealthMessage,
  DECISION_CHANNEL,
  type DecisionMessage,
  SUBJECT_CHANNEL,
  type SubjectMessage,
  TOKEN_CACHE_CHANNEL,
  type TokenCacheMessage,
} from './channels.js';

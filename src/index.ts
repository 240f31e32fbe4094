/**
 * `pipl-guard`: define a policy, build the guard, issue and verify consent tokens, audit sinks and
 * errors. Adapters live in `pipl-guard/express` and `pipl-guard/koa`, log tooling (verify, query,
 * export) in `pipl-guard/audit`, shared storage in `pipl-guard/postgres` and `pipl-guard/redis`.
 * The README's "Public API" section lists every export; test/exports.test.ts pins the names.
 */
export { type FileAuditSinkOptions, fileAuditSink } from './audit/file-sink.js';
export { type MemoryAuditSink, memoryAuditSink } from './audit/memory-sink.js';
export type { AuditEvent, AuditRecord, DecisionEvent, OutcomeEvent, PolicyEvent } from './audit/record.js';
export type { AuditSink, Enforcer } from './audit/sink.js';
export { CONSENT_CLAIM, CONSENT_TOKEN_TYPE, type Grant, type VerifiedConsent } from './consent/claims.js';
export type { HeaderReader, TokenLocation } from './consent/extract.js';
export { type IssueConsentOptions, issueConsentToken } from './consent/issue.js';
export {
  type ConsentKeyring,
  type ConsentKeyringOptions,
  createConsentKeyring,
  jwksHandler,
} from './consent/keyring.js';
export { memoryRevocationStore, type RevocationStore } from './consent/revocation.js';
export {
  type ConsentAlgorithm,
  type ConsentVerifier,
  type ConsentVerifierOptions,
  createConsentVerifier,
} from './consent/verify.js';
export type { Decision } from './decide/decide.js';
export { DEPRECATED_REASON_ALIASES, REASON_ARTICLES } from './errors/articles.js';
export { type DenyReason, REASONS, type ReasonCode } from './errors/codes.js';
export {
  isPiplError,
  isPiplGuardError,
  PiplConfigError,
  PiplError,
  PiplGuardError,
  type ProblemDetails,
} from './errors/errors.js';
export { createPiplGuard } from './guard/guard.js';
export type { DenialLogLevel, PiplLogger } from './guard/logger.js';
export type {
  ActorResolver,
  GuardOutcome,
  GuardRequest,
  PiplContext,
  PiplGuard,
  PiplGuardOptions,
} from './guard/types.js';
export {
  definePolicy,
  type Policy,
  type PolicyInput,
  type Purpose,
  type PurposeInput,
} from './policy/define-policy.js';
export {
  type Requirement,
  RIGHTS_REQUESTS,
  type RightsRequest,
  type RouteRequirement,
} from './policy/requirement.js';
export type { Transfer, TransferInput } from './policy/transfers.js';
export { filterByScope, type ScopeResult } from './scope/filter.js';
export { compileScope, type PiiMeta, pii, type ScopeNode, schemaCategories } from './scope/schema-scope.js';
export * from './subject/index.js';
export {
  AGE_BANDS,
  type AgeBand,
  BUILTIN_CATEGORIES,
  type BuiltinCategory,
  type CategoryDefinition,
  CONSENT_TYPES,
  type ConsentType,
  GUARDIAN_METHODS,
  type GuardianMethod,
  LEGAL_BASES,
  type LegalBasis,
  OPERATIONS,
  type Operation,
  TRANSFER_EXEMPTIONS,
  TRANSFER_MECHANISMS,
  type TransferExemption,
  type TransferMechanism,
} from './taxonomy/taxonomy.js';
export { VERSION } from './version.js';

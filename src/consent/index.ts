export { CONSENT_CLAIM, CONSENT_TOKEN_TYPE, type Grant, type VerifiedConsent } from './claims.js';
export { createTokenExtractor, type HeaderReader, type TokenLocation } from './extract.js';
export { type IssueConsentOptions, issueConsentToken } from './issue.js';
export {
  type ConsentKeyring,
  type ConsentKeyringOptions,
  createConsentKeyring,
  jwksHandler,
} from './keyring.js';
export { memoryRevocationStore, type RevocationStore } from './revocation.js';
export {
  ALLOWED_ALGORITHMS,
  type ConsentAlgorithm,
  type ConsentVerifier,
  type ConsentVerifierOptions,
  createConsentVerifier,
  DEFAULT_MAX_TOKEN_BYTES,
} from './verify.js';

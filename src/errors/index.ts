export { DEPRECATED_REASON_ALIASES, REASON_ARTICLES } from './articles.js';
export { type DenyReason, REASONS, type ReasonCode } from './codes.js';
export {
  isPiplGuardError,
  PiplConfigError,
  PiplGuardError,
  PROBLEM_TYPE_BASE,
  type ProblemDetails,
} from './errors.js';

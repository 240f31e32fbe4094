export { type DenyReason, REASONS, type ReasonCode } from './codes.js';
export {
  isPiplGuardError,
  PiplConfigError,
  PiplGuardError,
  PROBLEM_TYPE_BASE,
  type ProblemDetails,
} from './errors.js';

export { createPiplGuard } from './guard.js';
export type { DenialLogLevel, PiplLogger } from './logger.js';
export {
  type ActorResolver,
  type GuardOutcome,
  type GuardRequest,
  idText,
  normalizeActor,
  type PiplContext,
  type PiplGuard,
  type PiplGuardOptions,
} from './types.js';

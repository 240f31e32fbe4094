export * from './audit/index.js';
export * from './consent/index.js';
export * from './decide/index.js';
export * from './errors/index.js';
export {
  type ActorResolver,
  createPiplGuard,
  type GuardOutcome,
  type GuardRequest,
  normalizeActor,
  type PiplContext,
  type PiplGuard,
  type PiplGuardOptions,
} from './guard.js';
export * from './policy/index.js';
export * from './taxonomy/index.js';
export { VERSION } from './version.js';

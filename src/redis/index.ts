/**
 * Redis storage for withdrawn consent ids: `pipl-guard/redis`. Needs the optional peer dependency
 * `ioredis`; nothing else in pipl-guard imports it.
 */
export {
  DEFAULT_REVOCATION_PREFIX,
  REVOCATION_GRACE_SEC,
  type RedisRevocationStoreOptions,
  redisRevocationStore,
} from './revocation-store.js';
export { type RedisSubjectStoreOptions, redisSubjectStore } from './subject-store.js';

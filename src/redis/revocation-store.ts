import type { Redis } from 'ioredis';
import { REVOCATION_GRACE_SEC, type RevocationStore, withdrawalExpiry } from '../consent/revocation.js';
import { PiplConfigError } from '../errors/errors.js';
import { failClosed } from './fail-closed.js';

export { REVOCATION_GRACE_SEC };

/** Default key prefix: a withdrawn consent id `c-7f3a` is stored as `pipl:withdrawn:c-7f3a`. */
export const DEFAULT_REVOCATION_PREFIX = 'pipl:withdrawn:';

/** Longest consent id accepted: the claims schema's limit for `jti`. */
const MAX_CONSENT_ID = 128;

/** Entries kept by the opt-in local cache (`localCacheMs`); the oldest are dropped beyond this. */
const LOCAL_CACHE_MAX = 10_000;

export interface RedisRevocationStoreOptions {
  /**
   * The ioredis client, shared with the rest of the application or dedicated. The store never
   * connects, quits or disconnects it. Create it with `enableOfflineQueue: false` and
   * `maxRetriesPerRequest: 1`, and give it an `'error'` listener (see {@link redisRevocationStore}).
   */
  client: Redis;
  /** Key prefix (default `pipl:withdrawn:`). Every instance of one service must use the same one. */
  prefix?: string;
  /**
   * A Redis command that has not answered after this long (default 200 ms) fails: the guard answers
   * 503 `revocation_unavailable` instead of hanging the request on a stuck server.
   */
  timeoutMs?: number;
  /**
   * Opt-in (default 0: off). Remembers a "not withdrawn" answer in this process for this long, to
   * take load off Redis. The trade-off: a withdrawal made through **another** instance takes up to
   * `localCacheMs` to reach this one (a withdrawal made through this store is seen here at once).
   * "Withdrawn" answers are never cached (they are looked up every time and stay refused). Keep it
   * short (e.g. 1000 ms) and only when a withdrawal may lawfully take that long to apply everywhere.
   */
  localCacheMs?: number;
  /** How long `pipl.ready()` waits for the client to connect before it rejects (default 5000 ms). */
  readyTimeoutMs?: number;
}

/**
 * A {@link RevocationStore} in Redis, so a withdrawal (Art. 15) made on one API instance applies to
 * the next request on every instance.
 *
 * - `isRevoked(jti)` runs `EXISTS <prefix><jti>` on every request (nothing is cached unless
 *   `localCacheMs` says so). It fails closed: a client that is not `ready` (connecting, reconnecting,
 *   closed) rejects at once instead of queueing the command, and a command that takes longer than
 *   `timeoutMs` rejects; either way the guard answers 503 `revocation_unavailable` with `Retry-After`.
 * - `revoke(jti, until)` runs `SET <prefix><jti> 1 EXAT <until + 600>`: the entry disappears on its
 *   own 10 minutes after `until` (the latest `exp` of the consent's tokens). Without `until` it never
 *   expires. An `until` in the past is refused with a `RangeError` and nothing is
 *   written. Like a lookup, it rejects when Redis is unavailable or slow; a timed-out `SET` may still have been applied, and retrying is
 *   safe (it is idempotent).
 *
 * Keys are the prefix followed by the consent id exactly as verified (a string of 1–128 characters,
 * checked again here). Redis keys are binary-safe and the id is sent as one argument of the command,
 * never spliced into a command line, so no id can address another key or inject a command.
 * Needs Redis ≥ 6.2 (`SET ... EXAT`).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisRevocationStore } from 'pipl-guard/redis';
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
 * redis.on('error', (error) => log.warn(error)); // reconnects on its own; requests get 503 meanwhile
 * const pipl = createPiplGuard({ policy, consent, audit, revocations: redisRevocationStore({ client: redis }) });
 * await pipl.withdraw(jti, exp); // every instance refuses the token from the next request on
 * ```
 */
export function redisRevocationStore(options: RedisRevocationStoreOptions): RevocationStore {
  const client = options?.client;
  if (!client || typeof client.exists !== 'function' || typeof client.set !== 'function') {
    throw new PiplConfigError('redisRevocationStore: `client` must be an ioredis client');
  }
  const prefix = options.prefix ?? DEFAULT_REVOCATION_PREFIX;
  const timeoutMs = options.timeoutMs ?? 200;
  const localCacheMs = options.localCacheMs ?? 0;
  if (typeof prefix !== 'string')
    throw new PiplConfigError('redisRevocationStore: `prefix` must be a string');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new PiplConfigError('redisRevocationStore: `timeoutMs` must be a positive number of milliseconds');
  }
  if (!(Number.isFinite(localCacheMs) && localCacheMs >= 0)) {
    throw new PiplConfigError('redisRevocationStore: `localCacheMs` must be ≥ 0 milliseconds');
  }

  /** Consent id → when its "not withdrawn" answer stops being trusted (ms). Only with `localCacheMs`. */
  const notRevoked = new Map<string, number>();
  /** Bumped by every local `revoke`: a lookup that started before one must not cache its answer. */
  let generation = 0;

  function keyOf(consentId: string): string {
    if (typeof consentId !== 'string' || consentId.length === 0 || consentId.length > MAX_CONSENT_ID) {
      throw new RangeError(`consent id must be a string of 1 to ${MAX_CONSENT_ID} characters`);
    }
    return prefix + consentId;
  }

  /** Runs one command, failing closed: never queued while disconnected, never waited on forever. */
  function command<T>(name: string, run: () => Promise<T>): Promise<T> {
    return failClosed(client, `redisRevocationStore: ${name}`, timeoutMs, run);
  }

  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;

  return {
    /** Called by `pipl.ready()`: waits for the client to connect, then asks Redis once. */
    async ready() {
      if (client.status !== 'ready') await connected(client, readyTimeoutMs);
      await command('EXISTS', () => client.exists(prefix));
    },
    async isRevoked(consentId) {
      const key = keyOf(consentId);
      if (localCacheMs > 0) {
        const until = notRevoked.get(consentId);
        if (until !== undefined) {
          if (until > Date.now()) return false;
          notRevoked.delete(consentId);
        }
      }
      const started = generation;
      const revoked = (await command('EXISTS', () => client.exists(key))) > 0;
      if (!revoked && localCacheMs > 0 && started === generation) {
        notRevoked.delete(consentId);
        notRevoked.set(consentId, Date.now() + localCacheMs);
        if (notRevoked.size > LOCAL_CACHE_MAX) {
          const oldest = notRevoked.keys().next().value;
          if (oldest !== undefined) notRevoked.delete(oldest);
        }
      }
      return revoked;
    },
    async revoke(consentId, until) {
      const key = keyOf(consentId);
      // Forget the local "not withdrawn" answer first, and stop lookups already in flight from caching one.
      generation++;
      notRevoked.delete(consentId);
      // Refuses an `until` in the past (RangeError) before anything is written; kept
      // REVOCATION_GRACE_SEC past `until`, since within the clock tolerance an expired token verifies.
      const expiry = withdrawalExpiry(until);
      if (!Number.isFinite(expiry)) {
        await command('SET', () => client.set(key, '1'));
        return;
      }
      await command('SET', () => client.set(key, '1', 'EXAT', Math.ceil(expiry)));
    },
  };
}

/** Resolves once the client reports `ready`; rejects after `ms`. Never connects it itself. */
function connected(client: Redis, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redisRevocationStore: Redis not ready after ${ms} ms (status ${client.status})`));
    }, ms);
    client.once('ready', onReady);
  });
}

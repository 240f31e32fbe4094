import type { Redis } from 'ioredis';
import { PiplConfigError } from '../errors/errors.js';
import {
  OPT_OUT_KINDS,
  type OptOutKind,
  type SubjectRecord,
  type SubjectState,
  type SubjectStore,
} from '../subject/store.js';
import { failClosed } from './fail-closed.js';
import { REVOCATION_GRACE_SEC } from './revocation-store.js';

export interface RedisSubjectStoreOptions {
  /** The ioredis client (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`), e.g. the one of `redisRevocationStore`. */
  client: Redis;
  /**
   * Key prefix (default `pipl:`). A withdrawn consent id is kept at `<prefix>withdrawn:<jti>`, the key
   * `redisRevocationStore` reads with its default prefix, so both see the same withdrawals.
   */
  prefix?: string;
  /** A command that has not answered after this long (default 200 ms) fails: 503, never a hang. */
  timeoutMs?: number;
}

const MAX_ID = 256;

function seconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  const parsed = Number(value);
  // A key written by `redisRevocationStore` holds "1": withdrawn, time unknown.
  return Number.isFinite(parsed) ? parsed : 0;
}

/**
 * A {@link SubjectStore} in Redis: a withdrawal or opt-out made through one instance applies on the
 * next request of every instance. `lookup` is ONE `MGET` per request (consent id, subject-wide
 * withdrawal, purpose withdrawal, two opt-outs); nothing is cached. It fails closed like
 * `redisRevocationStore`: a client that is not `ready` or a command slower than `timeoutMs`
 * rejects, and the guard answers 503 `revocation_unavailable`. Each change is one `MULTI`
 * transaction, so a change is applied whole or not at all. Subject ids are URI-encoded in keys, so
 * no id can address another subject's keys.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisSubjectStore } from 'pipl-guard/redis';
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
 * redis.on('error', () => {}); // reconnects on its own; requests get 503 meanwhile
 * const pipl = createPiplGuard({ policy, consent, audit, subjects: redisSubjectStore({ client: redis }) });
 * ```
 */
export function redisSubjectStore(options: RedisSubjectStoreOptions): SubjectStore {
  const client = options?.client;
  if (!client || typeof client.mget !== 'function' || typeof client.multi !== 'function') {
    throw new PiplConfigError('redisSubjectStore: `client` must be an ioredis client');
  }
  const prefix = options.prefix ?? 'pipl:';
  const timeoutMs = options.timeoutMs ?? 200;
  if (typeof prefix !== 'string') throw new PiplConfigError('redisSubjectStore: `prefix` must be a string');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new PiplConfigError('redisSubjectStore: `timeoutMs` must be a positive number of milliseconds');
  }
  const run = <T>(name: string, command: () => Promise<T>) =>
    failClosed(client, `redisSubjectStore ${name}`, timeoutMs, command);

  function checked(id: string, what: string): string {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
      throw new RangeError(`${what} must be a string of 1 to ${MAX_ID} characters`);
    }
    return id;
  }
  const consentKey = (id: string) => `${prefix}withdrawn:${checked(id, 'consent id')}`;
  const subjectKey = (subject: string) =>
    `${prefix}subject:${encodeURIComponent(checked(subject, 'subject'))}`;

  async function transaction(name: string, build: (multi: ReturnType<Redis['multi']>) => void) {
    await run(name, async () => {
      const multi = client.multi();
      build(multi);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }

  return {
    async lookup({ subject, consentId, purpose }): Promise<SubjectState> {
      const keys: string[] = [consentId === undefined ? `${prefix}none` : consentKey(consentId)];
      if (subject !== undefined) {
        const base = subjectKey(subject);
        keys.push(
          `${base}:all`,
          `${base}:purpose:${purpose}`,
          `${base}:optout:personalization`,
          `${base}:optout:marketing`,
        );
      }
      const values = await run('MGET', () => client.mget(keys));
      return {
        consentWithdrawn: consentId !== undefined && values[0] !== null,
        allWithdrawnAt: seconds(values[1] ?? null),
        purposeWithdrawnAt: seconds(values[2] ?? null),
        optedOut: { personalization: values[3] != null, marketing: values[4] != null },
      };
    },
    async withdrawConsent({ consentId, at, until, subject }) {
      const key = consentKey(consentId);
      const base = subject === undefined ? undefined : subjectKey(subject);
      if (until !== undefined && !Number.isFinite(until))
        throw new RangeError('`until` must be epoch seconds');
      const expireAt = until === undefined ? undefined : Math.ceil(until) + REVOCATION_GRACE_SEC;
      // Past that, the token can no longer verify: nothing to remember (as `redisRevocationStore`).
      if (expireAt !== undefined && expireAt <= Date.now() / 1000 && base === undefined) return;
      await transaction('withdraw consent', (multi) => {
        if (expireAt === undefined) multi.set(key, String(at));
        else if (expireAt > Date.now() / 1000) multi.set(key, String(at), 'EXAT', expireAt);
        if (base !== undefined) multi.hset(`${base}:consents`, consentId, String(at));
      });
    },
    async withdrawPurpose(subject, purpose, at) {
      const base = subjectKey(subject);
      checked(purpose, 'purpose');
      await transaction('withdraw purpose', (multi) => {
        multi.set(`${base}:purpose:${purpose}`, String(at));
        multi.hset(`${base}:purposes`, purpose, String(at));
      });
    },
    async withdrawAll(subject, at) {
      await transaction('withdraw all', (multi) => multi.set(`${subjectKey(subject)}:all`, String(at)));
    },
    async setOptOut(subject, kind: OptOutKind, optedOut) {
      if (!OPT_OUT_KINDS.includes(kind)) throw new RangeError(`unknown opt-out "${kind}"`);
      const key = `${subjectKey(subject)}:optout:${kind}`;
      await transaction(optedOut ? 'opt out' : 'opt in', (multi) => {
        if (optedOut) multi.set(key, String(Math.floor(Date.now() / 1000)));
        else multi.del(key);
      });
    },
    async list(subject): Promise<SubjectRecord> {
      const base = subjectKey(subject);
      const [consents, purposes, flat] = await run('list', async () => {
        const results = await client
          .multi()
          .hgetall(`${base}:consents`)
          .hgetall(`${base}:purposes`)
          .mget(`${base}:all`, `${base}:optout:personalization`, `${base}:optout:marketing`)
          .exec();
        const failed = results?.find(([error]) => error);
        if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
        return results.map(([, value]) => value) as [
          Record<string, string>,
          Record<string, string>,
          (string | null)[],
        ];
      });
      return {
        consents: Object.entries(consents).map(([id, at]) => ({ id, withdrawnAt: Number(at) })),
        purposes: Object.entries(purposes).map(([purpose, at]) => ({ purpose, withdrawnAt: Number(at) })),
        allWithdrawnAt: seconds(flat[0] ?? null),
        optedOut: { personalization: flat[1] != null, marketing: flat[2] != null },
      };
    },
  };
}

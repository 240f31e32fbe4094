import { randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import * as net from 'node:net';
import express from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import {
  type ConsentVerifierOptions,
  createPiplGuard,
  type PiplGuard,
  type RevocationStore,
} from '../src/index.js';
import { REVOCATION_GRACE_SEC, redisRevocationStore } from '../src/redis/index.js';
import { guardOptions, type Keys, makeKeys, type TestPurpose, tokenFor } from './support/fixture.js';
import { probe } from './support/processes.js';

// Runs against a real Redis: REDIS_URL, else a server on 127.0.0.1:6379 if one answers.
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const REDIS_URL = process.env.REDIS_URL ?? DEFAULT_URL;
const available = process.env.REDIS_URL !== undefined || (await probe('127.0.0.1', 6379, 500));
if (!available) {
  console.warn(
    `redis.test.ts skipped: no Redis on 127.0.0.1:6379. Start one (e.g. \`redis-server\` or \`docker run -p 6379:6379 redis:7\`) or run with: REDIS_URL=${DEFAULT_URL} npm test`,
  );
}

const run = randomBytes(4).toString('hex');
/** Every key this run writes starts with this, so runs never collide and cleanup finds them all. */
const PREFIX = `pipl:test:${run}:withdrawn:`;

/** The client options the README recommends: fail fast instead of queueing while disconnected. */
const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true };

const clients: Redis[] = [];
/** A client the test owns, connected (ready) when returned; connection errors must not crash the run. */
async function connect(url = REDIS_URL, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, { ...FAIL_FAST, ...options });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Instance {
  app: RequestListener;
  pipl: PiplGuard<TestPurpose, 'loyalty_points'>;
  calls: { count: number };
  errors: unknown[];
}

/** One API instance: its own guard, audit sink and Express app over the given store. */
function instance(keys: Keys, revocations: RevocationStore): Instance {
  const { options } = guardOptions(keys);
  const errors: unknown[] = [];
  const pipl = createPiplGuard({ ...options, revocations, onError: (error) => errors.push(error) });
  const guard = expressGuard(pipl);
  const calls = { count: 0 };
  const app = express();
  app.get(
    '/users/:id/profile',
    guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
    (_req, res) => {
      calls.count++;
      res.json({ ok: true });
    },
  );
  return { app: app as unknown as RequestListener, pipl, calls, errors };
}

function profile(app: RequestListener, token: string) {
  return request(app).get('/users/user-1/profile').set('pipl-consent', token);
}

function uniqueId(label: string): string {
  return `c-${label}-${randomBytes(6).toString('hex')}`;
}

describe.skipIf(!available)('Redis revocation store (real server)', () => {
  let admin: Redis;
  let keys: Keys;

  beforeAll(async () => {
    admin = await connect();
    keys = await makeKeys();
  });

  afterAll(async () => {
    if (admin?.status === 'ready') {
      let cursor = '0';
      do {
        const [next, found] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
        if (found.length > 0) await admin.del(...found);
        cursor = next;
      } while (cursor !== '0');
    }
    for (const client of clients) client.disconnect();
  });

  it('revokes an id, finds it withdrawn, and answers false for an unknown id', async () => {
    const store = redisRevocationStore({ client: await connect(), prefix: PREFIX });
    const id = uniqueId('revoke');
    expect(await store.isRevoked(id)).toBe(false);
    await store.revoke(id);
    expect(await store.isRevoked(id)).toBe(true);
    expect(await admin.get(`${PREFIX}${id}`)).toBe('1');
    // Without `until` it is kept for good.
    expect(await admin.ttl(`${PREFIX}${id}`)).toBe(-1);
    expect(await store.isRevoked(uniqueId('unknown'))).toBe(false);
  });

  it('keeps a withdrawal until the token expiry plus the grace period', async () => {
    const store = redisRevocationStore({ client: await connect(), prefix: PREFIX });
    const id = uniqueId('ttl');
    const now = Math.floor(Date.now() / 1000);
    const until = now + 3600;
    await store.revoke(id, until);
    const ttl = await admin.ttl(`${PREFIX}${id}`);
    expect(ttl).toBeGreaterThan(until + REVOCATION_GRACE_SEC - now - 5);
    expect(ttl).toBeLessThanOrEqual(until + REVOCATION_GRACE_SEC - now);
    expect(await admin.expiretime(`${PREFIX}${id}`)).toBe(until + REVOCATION_GRACE_SEC);
    expect(await store.isRevoked(id)).toBe(true);
  });

  // Issue 6 item 13: an `until` in the past used to write nothing, so a current token for the
  // withdrawn consent (same jti, later exp) still passed.
  it('refuses an until in the past with a clear error, before writing anything', async () => {
    const store = redisRevocationStore({ client: await connect(), prefix: PREFIX });
    const now = Math.floor(Date.now() / 1000);
    for (const until of [now - 60, now - REVOCATION_GRACE_SEC - 60]) {
      const id = uniqueId('past');
      await expect(store.revoke(id, until)).rejects.toThrow(/`until` .* is in the past/);
      expect(await admin.exists(`${PREFIX}${id}`)).toBe(0);
    }
  });

  it('guard.withdraw keeps a withdrawal as long as the verifier accepts a token with that jti', async () => {
    const maxTokenAgeSec = 7200;
    const { options } = guardOptions(keys);
    const pipl = createPiplGuard({
      ...options,
      consent: { ...(options.consent as ConsentVerifierOptions), maxTokenAgeSec, clockToleranceSec: 5 },
      revocations: redisRevocationStore({ client: await connect(), prefix: PREFIX }),
    });
    const guard = expressGuard(pipl);
    const app = express();
    app.get(
      '/users/:id/profile',
      guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    const jti = uniqueId('floor');
    const now = Math.floor(Date.now() / 1000);
    const older = await tokenFor(keys, { consentId: jti, now: now - 120, expiresInSec: 60 });
    const current = await tokenFor(keys, { consentId: jti, expiresInSec: 86_400 });
    expect((await profile(app as unknown as RequestListener, current)).status).toBe(200);

    // The older token's exp is in the past: refused loudly, not silently ignored.
    await expect(pipl.withdraw(jti, Number(decodeJwt(older).exp))).rejects.toThrow(RangeError);
    // A short `until` is raised to the longest time a token with this jti can still verify.
    await pipl.withdraw(jti, now + 60);
    const expireAt = await admin.expiretime(`${PREFIX}${jti}`);
    expect(expireAt).toBeGreaterThanOrEqual(now + maxTokenAgeSec + 5 + REVOCATION_GRACE_SEC);
    expect(expireAt).toBeLessThanOrEqual(now + maxTokenAgeSec + 5 + REVOCATION_GRACE_SEC + 5);
    const refused = await profile(app as unknown as RequestListener, current);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('consent_withdrawn');
  });

  it('stores the prefix plus the raw id, and refuses ids the claims schema would not accept', async () => {
    const store = redisRevocationStore({ client: await connect(), prefix: PREFIX });
    const odd = `${uniqueId('odd')} *\r\nDEL x\u0000é`;
    await store.revoke(odd);
    expect(await admin.exists(`${PREFIX}${odd}`)).toBe(1);
    expect(await store.isRevoked(odd)).toBe(true);

    const tooLong = 'x'.repeat(129);
    await expect(store.isRevoked(tooLong)).rejects.toThrow(RangeError);
    await expect(store.isRevoked('')).rejects.toThrow(RangeError);
    await expect(store.revoke(tooLong)).rejects.toThrow(RangeError);
    await expect(store.revoke(uniqueId('nan'), Number.NaN)).rejects.toThrow(RangeError);
    expect(await store.isRevoked('x'.repeat(128))).toBe(false);

    expect(() => redisRevocationStore({ client: admin, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => redisRevocationStore({ client: admin, localCacheMs: -1 })).toThrow(/localCacheMs/);
    expect(() => redisRevocationStore({ client: {} as Redis })).toThrow(/ioredis client/);
  });

  it('a withdrawal on instance A refuses the next request on instance B', async () => {
    const a = instance(keys, redisRevocationStore({ client: await connect(), prefix: PREFIX }));
    const b = instance(keys, redisRevocationStore({ client: await connect(), prefix: PREFIX }));
    const token = await tokenFor(keys, { consentId: uniqueId('two-instances') });
    const { jti, exp } = decodeJwt(token);

    expect((await profile(a.app, token)).status).toBe(200);
    expect((await profile(b.app, token)).status).toBe(200);

    await a.pipl.withdraw(String(jti), exp);

    const onB = await profile(b.app, token);
    expect(onB.status).toBe(403);
    expect(onB.body.code).toBe('consent_withdrawn');
    const onA = await profile(a.app, token);
    expect(onA.status).toBe(403);
    expect(onA.body.code).toBe('consent_withdrawn');
    expect(a.calls.count).toBe(1);
    expect(b.calls.count).toBe(1);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('answers 503 revocation_unavailable when Redis cannot be reached, without running the handler', async () => {
    const port = await closedPort();
    // Not lazy: it tries to connect, fails, and keeps retrying; it is never `ready`.
    const down = new Redis(`redis://127.0.0.1:${port}`, {
      ...FAIL_FAST,
      lazyConnect: false,
      retryStrategy: () => 50,
    });
    let connectionErrors = 0;
    down.on('error', () => connectionErrors++);
    clients.push(down);
    await new Promise<void>((resolve) => down.once('error', () => resolve()));

    const api = instance(keys, redisRevocationStore({ client: down, prefix: PREFIX }));
    const response = await profile(api.app, await tokenFor(keys));
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('revocation_unavailable');
    expect(response.headers['retry-after']).toBe('5');
    expect(api.calls.count).toBe(0);
    expect(api.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/not ready/) })]);
    expect(connectionErrors).toBeGreaterThan(0);
    // Withdrawing fails loudly too, instead of being queued for later.
    await expect(api.pipl.withdraw(uniqueId('down'))).rejects.toThrow(/not ready/);
    down.disconnect();
  });

  it('answers 503 after the client was disconnected', async () => {
    const client = await connect();
    const api = instance(keys, redisRevocationStore({ client, prefix: PREFIX }));
    const token = await tokenFor(keys);
    expect((await profile(api.app, token)).status).toBe(200);

    client.disconnect();
    const response = await profile(api.app, token);
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('revocation_unavailable');
    expect(response.headers['retry-after']).toBe('5');
    expect(api.calls.count).toBe(1);
  });

  it('answers 503 within the timeout when Redis stops answering on an open connection', async () => {
    // A proxy to the real server that, once `hung`, swallows every command: the connection stays
    // open and `ready`, but nothing comes back (a stalled server or a black-holed network path).
    const upstream = new URL(REDIS_URL);
    let hung = false;
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((socket) => {
      const server = net.connect({ host: upstream.hostname, port: Number(upstream.port || 6379) });
      sockets.add(socket).add(server);
      socket.on('data', (chunk) => {
        if (!hung) server.write(chunk);
      });
      server.pipe(socket);
      socket.on('error', () => server.destroy());
      server.on('error', () => socket.destroy());
      socket.on('close', () => server.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as net.AddressInfo;
    try {
      const proxied = new URL(REDIS_URL);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      const client = await connect(proxied.href);
      const api = instance(keys, redisRevocationStore({ client, prefix: PREFIX, timeoutMs: 200 }));
      const token = await tokenFor(keys);
      expect((await profile(api.app, token)).status).toBe(200);

      hung = true;
      const started = performance.now();
      const response = await profile(api.app, token);
      const elapsed = performance.now() - started;
      expect(client.status).toBe('ready');
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('revocation_unavailable');
      expect(response.headers['retry-after']).toBe('5');
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(2000);
      expect(api.calls.count).toBe(1);
      expect(api.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/EXISTS did not answer within 200 ms/) }),
      ]);

      const withdrawStarted = performance.now();
      await expect(api.pipl.withdraw(uniqueId('hung'))).rejects.toThrow(/SET did not answer/);
      expect(performance.now() - withdrawStarted).toBeLessThan(2000);
      // The commands still pending are rejected by ioredis on disconnect: handled, not unhandled.
      client.disconnect();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('localCacheMs (opt-in) serves "not withdrawn" from memory for at most that long', async () => {
    const cacheMs = 300;
    const a = redisRevocationStore({ client: await connect(), prefix: PREFIX });
    const client = await connect();
    const b = redisRevocationStore({ client, prefix: PREFIX, localCacheMs: cacheMs });
    const id = uniqueId('cached');

    expect(await b.isRevoked(id)).toBe(false);
    const cachedAt = Date.now();
    await a.revoke(id);
    // The documented staleness window: B has not asked Redis again yet.
    expect(await b.isRevoked(id)).toBe(false);
    const exists = vi.spyOn(client, 'exists');
    expect(await b.isRevoked(id)).toBe(false);
    expect(exists).not.toHaveBeenCalled();
    await new Promise((resolve) => setTimeout(resolve, cacheMs - (Date.now() - cachedAt) + 20));
    expect(await b.isRevoked(id)).toBe(true);
    expect(exists).toHaveBeenCalledTimes(1);
    // "Withdrawn" is never cached: it is asked of Redis every time.
    expect(await b.isRevoked(id)).toBe(true);
    expect(exists).toHaveBeenCalledTimes(2);
    exists.mockRestore();

    // A withdrawal through the caching store itself applies there at once.
    const own = uniqueId('own');
    expect(await b.isRevoked(own)).toBe(false);
    await b.revoke(own);
    expect(await b.isRevoked(own)).toBe(true);

    // A lookup already in flight when this store withdraws the id does not cache its stale answer.
    const racing = uniqueId('racing');
    const inFlight = b.isRevoked(racing); // EXISTS goes out before the SET below, on one connection
    const revoking = b.revoke(racing);
    expect(await inFlight).toBe(false);
    await revoking;
    expect(await b.isRevoked(racing)).toBe(true);
  });
});

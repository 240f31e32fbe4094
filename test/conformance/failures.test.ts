import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  type AuditSink,
  fileAuditSink,
  memoryAuditSink,
  memorySubjectStore,
  type SubjectStore,
} from '../../src/index.js';
import { NOTHING_WITHDRAWN } from '../../src/subject/store.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, guardOptions, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';

const keys = await makeKeys();
const token = await tokenFor(keys);
const PROFILE = '/users/user-1/profile';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempAuditPath() {
  const dir = await mkdtemp(join(tmpdir(), 'pipl-guard-audit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'audit.jsonl');
}

async function readRecords(path: string): Promise<AuditRecord[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A JWKS endpoint on 127.0.0.1 answering with `handler`, closed after the test. Returns its URL. */
async function jwksServer(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  const port = await listen(server);
  cleanups.push(() => closeServer(server));
  return `http://127.0.0.1:${port}/jwks.json`;
}

/** A consent verifier reading keys from a remote JWKS URL. */
function remoteKeys(jwksUri: string) {
  return {
    consent: {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'] as const,
      jwksUri,
      jwksTimeoutMs: 300,
    },
  };
}

for (const framework of FRAMEWORKS) {
  describe(`conformance infrastructure failures (${framework})`, () => {
    it('writes one pseudonymised record per request to a real audit file', async () => {
      const path = await tempAuditPath();
      const sink = fileAuditSink({ path });
      const setup = guardOptions(keys, { audit: { sink, subjectKey: AUDIT_KEY } });
      const apps = buildApps(setup);
      const ok = await send(apps[framework], { path: PROFILE, token });
      expect(ok.status).toBe(200);
      const mismatch = await send(apps[framework], { path: '/users/user-2/profile', token });
      expectProblem(mismatch, 'subject_mismatch');
      await sink.close();
      const records = await readRecords(path);
      expect(records[0]?.type).toBe('writer_start');
      expect(records.at(-1)?.type).toBe('writer_stop');
      // Decision records only: other record types (e.g. response outcomes) may sit between them.
      const decisions = records.filter((record) => record.type === 'decision');
      expect(decisions).toHaveLength(2);
      const [allowed, denied] = decisions as [AuditRecord, AuditRecord];
      expectOneAudit([allowed], { decision: 'allow', reason: 'consent_valid', subject: 'user-1' }, [token]);
      expectOneAudit([denied], { decision: 'deny', reason: 'subject_mismatch', subject: 'user-2' }, [token]);
      expect(await readFile(path, 'utf8')).not.toContain(token);
    });

    it('audit sink that can no longer write → 503 audit_unavailable, handler not run', async () => {
      const path = await tempAuditPath();
      const sink = fileAuditSink({ path });
      const setup = guardOptions(keys, { audit: { sink, subjectKey: AUDIT_KEY } });
      const apps = buildApps(setup);
      await sink.close();
      for (const path of [PROFILE, '/orders/o-1', '/users/user-1/recommendations']) {
        const res = await send(apps[framework], { path, token });
        expectProblem(res, 'audit_unavailable');
        expect(res.headers['retry-after']).toBe('5');
      }
      expect(apps.calls[framework]).toBe(0);
      const records = await readRecords(path);
      // The policy record is written when the guard starts, before the sink closed (Art. 69).
      expect(records.map((r) => r.type)).toEqual(['writer_start', 'policy', 'writer_stop']);
    });

    it('an audit sink whose durable write never completes (a hung disk) → 503 audit_unavailable after durableTimeoutMs', async () => {
      // Buffered appends are taken; a durable one is sealed, then its write hangs (NFS, a stalled volume).
      const memory = memoryAuditSink();
      const hung: AuditSink = {
        get healthy() {
          return memory.healthy;
        },
        append: (event, durable) => (durable ? new Promise<void>(() => {}) : memory.append(event)),
        noteDropped: (cause) => memory.noteDropped(cause),
        flush: () => memory.flush(),
        close: () => memory.close(),
      };
      const errors: unknown[] = [];
      const setup = guardOptions(keys, {
        audit: { sink: hung, subjectKey: AUDIT_KEY, durable: 'always', durableTimeoutMs: 150 },
        onError: (error) => errors.push(error),
      });
      const apps = buildApps(setup);
      const started = performance.now();
      const res = await send(apps[framework], { path: PROFILE, token });
      expect(performance.now() - started).toBeLessThan(5000);
      expectProblem(res, 'audit_unavailable');
      expect(apps.calls[framework]).toBe(0);
      expect(String(errors[0])).toMatch(/audit sink did not answer within 150 ms/);
      // The sealed `allow` may still land: the log is told this request was in fact refused, with the
      // next request that finds the log taking records.
      await send(apps[framework], { path: PROFILE, token });
      const refusedLater = (
        memory.records as unknown as { type: string; requestId: string; status?: number }[]
      ).filter((r) => r.type === 'outcome');
      expect(refusedLater).toContainEqual(
        expect.objectContaining({ requestId: res.body.requestId, status: 503 }),
      );
    });

    it('rejects an audit.durableTimeoutMs that is not a positive number at start-up', () => {
      for (const durableTimeoutMs of [0, -5, Number.NaN, '100'])
        expect(() =>
          buildApps(
            guardOptions(keys, {
              audit: {
                sink: memoryAuditSink(),
                subjectKey: AUDIT_KEY,
                durableTimeoutMs: durableTimeoutMs as number,
              },
            }),
          ),
        ).toThrow(/durableTimeoutMs/);
    });

    it('revocation store that throws → 503 revocation_unavailable, handler not run', async () => {
      const errors: unknown[] = [];
      const setup = guardOptions(keys, {
        revocations: {
          isRevoked() {
            throw new Error('redis: connection refused');
          },
          revoke() {},
        },
        onError: (error) => errors.push(error),
      });
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expectProblem(res, 'revocation_unavailable');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.text).not.toContain('redis');
      expect(apps.calls[framework]).toBe(0);
      expect(errors).toHaveLength(1);
      expectOneAudit(
        setup.audit.records,
        { decision: 'deny', reason: 'revocation_unavailable', subject: 'user-1' },
        [token],
      );
    });

    // Issue 6 item 9: a failing onError hook must not turn a refusal into a rejection (unhandled in
    // an Express app, a 500 in Koa).
    const FAILING_HOOKS: readonly [string, (error: unknown) => void][] = [
      [
        'throws',
        () => {
          throw new Error('logger down');
        },
      ],
      ['returns a rejected promise', (async () => Promise.reject(new Error('logger down'))) as never],
    ];
    for (const [what, onError] of FAILING_HOOKS) {
      it(`an onError hook that ${what} changes nothing: 503 revocation_unavailable, nothing unhandled`, async () => {
        const unhandled: unknown[] = [];
        const collect = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', collect);
        cleanups.push(async () => {
          process.off('unhandledRejection', collect);
        });
        const setup = guardOptions(keys, {
          revocations: { isRevoked: () => Promise.reject(new Error('timeout')), revoke() {} },
          onError,
        });
        const apps = buildApps(setup);
        const res = await send(apps[framework], { path: PROFILE, token });
        expectProblem(res, 'revocation_unavailable');
        expect(res.text).not.toContain('logger down');
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
        expect(apps.calls[framework]).toBe(0);
      });
    }

    // A store is somebody's code: ioredis answers SISMEMBER with 0/1, a forgotten `return` answers
    // undefined. Whatever is not a boolean is not an answer, and reading it as "not withdrawn"
    // would let a withdrawn consent through (Art. 15). It fails closed, and onError is told why.
    const NOT_BOOLEANS: readonly [string, () => unknown][] = [
      ['undefined', () => undefined],
      ['0 (ioredis SISMEMBER)', () => 0],
      ['1', () => 1],
      ['"false"', () => 'false'],
      ['a promise of undefined', () => Promise.resolve(undefined)],
      ['a promise of null', () => Promise.resolve(null)],
    ];
    for (const [what, isRevoked] of NOT_BOOLEANS) {
      it(`revocation store answering ${what} → 503 revocation_unavailable, handler not run`, async () => {
        const errors: unknown[] = [];
        const setup = guardOptions(keys, {
          revocations: { isRevoked: isRevoked as () => boolean, revoke() {} },
          onError: (error) => errors.push(error),
        });
        const apps = buildApps(setup);
        const res = await send(apps[framework], { path: PROFILE, token });
        expectProblem(res, 'revocation_unavailable');
        expect(apps.calls[framework]).toBe(0);
        expect(errors).toHaveLength(1);
        expect(String(errors[0])).toMatch(/isRevoked answered .*, not a boolean/);
        expectOneAudit(
          setup.audit.records,
          { decision: 'deny', reason: 'revocation_unavailable', subject: 'user-1' },
          [token],
        );
      });
    }

    // The same for a subject store: a state the guard cannot read is no answer either.
    const NOT_STATES: readonly [string, () => unknown][] = [
      ['undefined', () => undefined],
      ['{}', () => ({})],
      ['a withdrawal as a string', () => ({ ...NOTHING_WITHDRAWN, consentWithdrawn: 'yes' })],
      ['a withdrawal time as a string', () => ({ ...NOTHING_WITHDRAWN, allWithdrawnAt: '2026-12-01' })],
      ['no opt-outs', () => ({ ...NOTHING_WITHDRAWN, optedOut: undefined })],
      ['a promise of null', () => Promise.resolve(null)],
    ];
    for (const [what, lookup] of NOT_STATES) {
      it(`subject store answering ${what} → 503 revocation_unavailable, handler not run`, async () => {
        const errors: unknown[] = [];
        const store = memorySubjectStore();
        const setup = guardOptions(keys, {
          revocations: undefined,
          subjects: { ...store, lookup: lookup as SubjectStore['lookup'] },
          onError: (error) => errors.push(error),
        });
        const apps = buildApps(setup);
        const res = await send(apps[framework], { path: PROFILE, token });
        expectProblem(res, 'revocation_unavailable');
        expect(apps.calls[framework]).toBe(0);
        expect(errors).toHaveLength(1);
        expect(String(errors[0])).toMatch(/lookup answered .*, not a subject state/);
      });
    }

    // A slow dependency: a store or hook whose promise never settles (a hung connection, a pool
    // exhausted) must not hold requests, their sockets and their memory for ever.
    const NEVER = () => new Promise<never>(() => {});
    const HUNG: readonly [string, Record<string, unknown>, 'revocation_unavailable'][] = [
      ['a withdrawal store', { revocations: { isRevoked: NEVER, revoke() {} } }, 'revocation_unavailable'],
      [
        'a subject store',
        { revocations: undefined, subjects: { ...memorySubjectStore(), lookup: NEVER } },
        'revocation_unavailable',
      ],
    ];
    for (const [what, stores, code] of HUNG) {
      it(`${what} that never answers → 503 ${code} after lookupTimeoutMs, handler not run`, async () => {
        const errors: unknown[] = [];
        const setup = guardOptions(keys, { ...stores, lookupTimeoutMs: 150, onError: (e) => errors.push(e) });
        const apps = buildApps(setup);
        const started = performance.now();
        const res = await send(apps[framework], { path: PROFILE, token });
        expect(performance.now() - started).toBeLessThan(5000);
        expectProblem(res, code);
        expect(apps.calls[framework]).toBe(0);
        expect(String(errors[0])).toMatch(/did not answer within 150 ms/);
        expectOneAudit(setup.audit.records, { decision: 'deny', reason: code, subject: 'user-1' }, [token]);
      });
    }

    it('rejects a lookupTimeoutMs that is not a positive number at start-up', () => {
      for (const lookupTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100'])
        expect(() => buildApps(guardOptions(keys, { lookupTimeoutMs: lookupTimeoutMs as number }))).toThrow(
          /lookupTimeoutMs/,
        );
    });

    it('revocation store that rejects → 503 revocation_unavailable', async () => {
      const setup = guardOptions(keys, {
        revocations: { isRevoked: () => Promise.reject(new Error('timeout')), revoke() {} },
      });
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expectProblem(res, 'revocation_unavailable');
      expect(apps.calls[framework]).toBe(0);
    });

    it('remote JWKS on a closed port → 503 keys_unavailable, handler not run', async () => {
      const server = createServer();
      const port = await listen(server);
      await closeServer(server);
      const setup = guardOptions(keys, remoteKeys(`http://127.0.0.1:${port}/jwks.json`));
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expectProblem(res, 'keys_unavailable');
      expect(res.headers['retry-after']).toBe('30');
      expect(apps.calls[framework]).toBe(0);
      expectOneAudit(
        setup.audit.records,
        { decision: 'deny', reason: 'keys_unavailable', subject: 'user-1' },
        [token],
      );
    });

    it('remote JWKS that hangs beyond jwksTimeoutMs → 503 keys_unavailable', async () => {
      const setup = guardOptions(
        keys,
        remoteKeys(
          await jwksServer(() => {
            // Never answers: the verifier's own timeout must end the wait.
          }),
        ),
      );
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expectProblem(res, 'keys_unavailable');
      expect(apps.calls[framework]).toBe(0);
    });

    it('remote JWKS that answers garbage → 503 keys_unavailable', async () => {
      const setup = guardOptions(
        keys,
        remoteKeys(
          await jwksServer((_req, res) => {
            res.setHeader('content-type', 'application/json');
            res.end('{"keys": "not-a-list"}');
          }),
        ),
      );
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expectProblem(res, 'keys_unavailable');
      expect(apps.calls[framework]).toBe(0);
    });

    // Issue 6 item 12: the key server's own failures are outages (503), not verdicts on the token (401).
    const BROKEN_KEY_SERVERS: readonly [string, RequestListener][] = [
      ['answers 500', (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')],
      ['answers 502', (_req, res) => res.writeHead(502).end()],
      ['answers 503', (_req, res) => res.writeHead(503, { 'retry-after': '1' }).end()],
      [
        'redirects (302) to a working key set',
        (req, res) => {
          if (req.url === '/moved.json') {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ keys: [keys.publicJwk] }));
          } else res.writeHead(302, { location: '/moved.json' }).end();
        },
      ],
      [
        'answers 200 with an HTML page',
        (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
      ],
      [
        'answers 200 with truncated JSON',
        (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": ['),
      ],
    ];
    for (const [what, handler] of BROKEN_KEY_SERVERS) {
      it(`remote JWKS that ${what} → 503 keys_unavailable, handler not run`, async () => {
        const setup = guardOptions(keys, remoteKeys(await jwksServer(handler)));
        const apps = buildApps(setup);
        const res = await send(apps[framework], { path: PROFILE, token });
        expectProblem(res, 'keys_unavailable');
        expect(res.headers['retry-after']).toBe('30');
        expect(apps.calls[framework]).toBe(0);
        expectOneAudit(
          setup.audit.records,
          { decision: 'deny', reason: 'keys_unavailable', subject: 'user-1' },
          [token],
        );
      });
    }

    it('a token whose kid the fetched key set lacks is still token_invalid (not an outage)', async () => {
      const setup = guardOptions(
        keys,
        remoteKeys(
          await jwksServer((_req, res) => {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ keys: [{ ...keys.publicJwk, kid: 'another-key' }] }));
          }),
        ),
      );
      const apps = buildApps(setup);
      expectProblem(await send(apps[framework], { path: PROFILE, token }), 'token_invalid');
    });

    it('a working remote JWKS on 127.0.0.1 verifies the token (control)', async () => {
      const setup = guardOptions(
        keys,
        remoteKeys(
          await jwksServer((_req, res) => {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ keys: [keys.publicJwk] }));
          }),
        ),
      );
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token });
      expect(res.status).toBe(200);
      expect(res.body.reason).toBe('consent_valid');
      expect(apps.calls[framework]).toBe(1);
    });
  });
}

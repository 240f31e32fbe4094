import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { koaGuard } from '../src/adapters/koa/index.js';
import { SUBJECT_WARNING_CODE } from '../src/guard/subject-warning.js';
import {
  createPiplGuard,
  definePolicy,
  fileAuditSink,
  memoryAuditSink,
  memorySubjectStore,
  PiplConfigError,
  type PiplGuardOptions,
} from '../src/index.js';
import { redisRevocationStore } from '../src/redis/index.js';
import { guardOptions, makeKeys, policy, tokenFor } from './support/fixture.js';

const run = promisify(execFile);
const tempLog = () => join(mkdtempSync(join(tmpdir(), 'pipl-startup-')), 'var', 'audit.jsonl');
const records = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; cleanShutdown?: boolean });

describe('a start-up configuration error leaves no log and no lock behind', () => {
  it('createPiplGuard throwing removes the log its sink had just created, and the lock', () => {
    const path = tempLog();
    expect(() =>
      createPiplGuard({
        policy,
        consent: { issuer: 'i', audience: 'a', algorithms: ['ES256'], jwks: { keys: [] } },
        audit: { sink: fileAuditSink({ path }), subjectKey: 'too short' },
      }),
    ).toThrow(PiplConfigError);
    expect([existsSync(path), existsSync(`${path}.lock`)]).toEqual([false, false]);
  });

  it('an existing log is closed cleanly, so the next start is not an unclean restart', async () => {
    const path = tempLog();
    await fileAuditSink({ path }).close();
    const bad = { policy, audit: { sink: fileAuditSink({ path }) } } as unknown as PiplGuardOptions<
      string,
      string
    >;
    expect(() => createPiplGuard(bad)).toThrow(PiplConfigError);
    expect(existsSync(`${path}.lock`)).toBe(false);
    const next = fileAuditSink({ path });
    await next.close();
    const starts = records(path).filter((record) => record.type === 'writer_start');
    expect(starts.map((start) => start.cleanShutdown)).toEqual([true, true, true]);
  });

  it('a process that dies of a bad route before its first request leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipl-startup-'));
    const path = join(dir, 'audit.jsonl');
    const script = join(dir, 'bad-route.ts');
    const src = (module: string) => JSON.stringify(new URL(`../src/${module}`, import.meta.url).href);
    writeFileSync(
      script,
      `import { createPiplGuard, definePolicy, fileAuditSink } from ${src('index.ts')};
import { expressGuard } from ${src('adapters/express/index.ts')};
const policy = definePolicy({ notice: { id: 'n', version: 1 }, purposes: {
  'order.fulfilment': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true } } });
const pipl = createPiplGuard({ policy, audit: { sink: fileAuditSink({ path: ${JSON.stringify(path)} }), subjectKey: false } });
expressGuard(pipl)('order.fulfilment', { operation: 'delete' }); // not declared: PiplConfigError
`,
    );
    const failed = await run(process.execPath, ['--import', 'tsx', script]).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/PiplConfigError/);
    expect([existsSync(path), existsSync(`${path}.lock`)]).toEqual([false, false]);
  });
});

describe('ready() checks keys, the withdrawal store and the audit sink', () => {
  it('resolves when all three answer', async () => {
    const { guard } = guardOptions(await makeKeys());
    await expect(guard.ready()).resolves.toBeUndefined();
  });

  it('rejects with revocation_unavailable when the withdrawal store fails', async () => {
    const errors: unknown[] = [];
    const { guard } = guardOptions(await makeKeys(), {
      revocations: {
        isRevoked: () => Promise.reject(new Error('connection refused')),
        revoke: () => {},
      },
      onError: (error) => errors.push(error),
    });
    await expect(guard.ready()).rejects.toMatchObject({ code: 'revocation_unavailable', status: 503 });
    expect(errors).toHaveLength(1);
  });

  it('rejects with revocation_unavailable when the store answers something that is not an answer', async () => {
    for (const extra of [
      { revocations: { isRevoked: () => 0 as unknown as boolean, revoke: () => {} } },
      {
        revocations: undefined,
        subjects: { ...memorySubjectStore(), lookup: () => Promise.resolve({}) as never },
      },
    ]) {
      const errors: unknown[] = [];
      const { guard } = guardOptions(await makeKeys(), { ...extra, onError: (error) => errors.push(error) });
      await expect(guard.ready()).rejects.toMatchObject({ code: 'revocation_unavailable', status: 503 });
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/answered (number|an object), not a/);
    }
  });

  it('rejects with audit_unavailable when the sink does not take records', async () => {
    const sink = memoryAuditSink();
    const { guard } = guardOptions(await makeKeys(), { audit: { sink, subjectKey: false } });
    await sink.close();
    await expect(guard.ready()).rejects.toMatchObject({ code: 'audit_unavailable', status: 503 });
  });

  it('waits for a connecting Redis client, and rejects when it never connects', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      const store = redisRevocationStore({ client, readyTimeoutMs: 300 });
      const { guard } = guardOptions(await makeKeys(), { revocations: store });
      await expect(guard.ready()).rejects.toMatchObject({ code: 'revocation_unavailable' });
    } finally {
      client.disconnect();
    }
  });
});

describe('a route with a path parameter but no subject resolver is warned about', () => {
  const warnings = async (act: () => Promise<unknown>) => {
    const seen: Error[] = [];
    const listener = (warning: Error) => seen.push(warning);
    process.on('warning', listener);
    try {
      await act();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return seen.filter((warning) => (warning as { code?: string }).code === SUBJECT_WARNING_CODE);
  };

  it('Express: once, at the first request, naming the route and purpose', async () => {
    const keys = await makeKeys();
    const { guard } = guardOptions(keys);
    const on = expressGuard(guard);
    const app = express();
    app.get('/users/:id/profile', on('account.profile', { operation: 'use' }), (_req, res) => {
      res.end();
    });
    app.get('/me/profile', on('account.profile', { operation: 'use' }), (_req, res) => {
      res.end();
    });
    app.get(
      '/users/:id/bound',
      on('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        res.end();
      },
    );
    const token = await tokenFor(keys);
    const seen = await warnings(async () => {
      for (const path of [
        '/users/user-1/profile',
        '/users/user-2/profile',
        '/me/profile',
        '/users/user-1/bound',
      ]) {
        await request(app).get(path).set('pipl-consent', token);
      }
    });
    expect(seen.map((warning) => [warning.name, warning.message])).toEqual([
      ['PiplGuardWarning', expect.stringContaining('/users/:id/profile (purpose "account.profile")')],
    ]);
  });

  it('Koa: the same', async () => {
    const Router = (await import('@koa/router')).default;
    const Koa = (await import('koa')).default;
    const keys = await makeKeys();
    const { guard } = guardOptions(keys);
    const router = new Router();
    router.get('/users/:id/profile', koaGuard(guard)('account.profile', { operation: 'use' }), (ctx) => {
      ctx.body = 'ok';
    });
    const app = new Koa().use(router.routes()).callback();
    const token = await tokenFor(keys);
    const seen = await warnings(() => request(app).get('/users/user-1/profile').set('pipl-consent', token));
    expect(seen).toHaveLength(1);
  });

  it('at definition when an explicit route label has a parameter; never for non-consent purposes', async () => {
    const pipl = createPiplGuard({
      policy: definePolicy({
        notice: { id: 'n', version: 1 },
        purposes: {
          'account.profile': {
            basis: 'consent',
            categories: ['contact'],
            operations: ['use'],
            necessaryForService: true,
          },
          'order.fulfilment': {
            basis: 'contract',
            categories: ['contact'],
            operations: ['use'],
            necessaryForService: true,
          },
        },
      }),
      consent: {
        issuer: 'i',
        audience: 'a',
        algorithms: ['ES256'],
        jwks: { keys: [(await makeKeys()).publicJwk] },
      },
      audit: { sink: memoryAuditSink(), subjectKey: false },
    });
    const seen = await warnings(async () => {
      pipl.requirement('account.profile', { operation: 'use', route: '/users/:id' });
      pipl.requirement('order.fulfilment', { operation: 'use', route: '/users/:id' });
    });
    expect(seen).toHaveLength(1);
  });
});

describe('a sink that is still a Promise (postgresAuditSink without await)', () => {
  it('is refused at start-up with a message that says to await it', async () => {
    const keys = await makeKeys();
    const sink = Promise.resolve(memoryAuditSink());
    expect(() => guardOptions(keys, { audit: { sink: sink as never, subjectKey: false } })).toThrow(
      /audit\.sink is a Promise: `await postgresAuditSink/,
    );
  });
});

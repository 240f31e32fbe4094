/**
 * The `logger` option with pino itself, writing synchronously to a real file that the test reads
 * back: start-up warnings, denials at the chosen level, sink failure and recovery, internal
 * errors; subjects only as their audit pseudonym, never a token.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createPiplGuard,
  definePolicy,
  fileAuditSink,
  memoryAuditSink,
  PiplConfigError,
} from '../../src/index.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { pseudonym, send } from '../support/assertions.js';
import { AUDIT_KEY, guardOptions, type Keys, makeKeys, tokenFor } from '../support/fixture.js';
import { canMountTmpfs, fullDisk } from './full-disk.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const files: string[] = [];
afterEach(() => {
  for (const file of files.splice(0)) fs.rmSync(file, { force: true });
});

/** A real pino logger writing to a file; `lines()` reads what it wrote. */
function pinoToFile(level = 'debug') {
  const path = join(tmpdir(), `pipl-log-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`);
  files.push(path);
  const logger = pino({ level }, pino.destination({ dest: path, sync: true }));
  return {
    logger,
    text: () => fs.readFileSync(path, 'utf8'),
    lines: (): Line[] =>
      fs
        .readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Line),
  };
}

const INFO = 30;
const WARN = 40;
const ERROR = 50;

describe.each(FRAMEWORKS)('denials in the log (%s)', (framework) => {
  it('logs each denial at the chosen level with the pseudonymised subject, never the token; allows are not logged', async () => {
    const log = pinoToFile();
    const app = buildApps(guardOptions(keys, { logger: log.logger, logDenials: 'warn' }))[framework];
    const token = await tokenFor(keys);
    const otherSubject = await tokenFor(keys, { subject: 'user-2' });
    expect((await send(app, { path: '/users/user-1/profile', token })).status).toBe(200);
    expect(
      (
        await send(app, {
          path: '/users/user-1/profile',
          token: otherSubject,
          headers: { 'x-request-id': 'r-mismatch' },
        })
      ).status,
    ).toBe(403);

    const denials = log.lines().filter((line) => line.msg === 'pipl-guard: request denied');
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({
      level: WARN,
      pipl: {
        requestId: expect.stringMatching(/^[0-9a-f]{8}-/),
        purpose: 'account.profile',
        decision: 'deny',
        reason: 'subject_mismatch',
        status: 403,
        route: '/users/:id/profile',
        method: 'GET',
        subject: pseudonym('user-1'),
      },
    });
    const text = log.text();
    expect(text).not.toContain(token);
    expect(text).not.toContain(otherSubject);
    expect(text).not.toMatch(/"user-[12]"/);
  });
});

describe('logger options', () => {
  it('logs denials at info by default, and not at all with logDenials: false', async () => {
    const byDefault = pinoToFile();
    await send(buildApps(guardOptions(keys, { logger: byDefault.logger })).express, { path: '/me' });
    expect(
      byDefault
        .lines()
        .filter((l) => l.msg === 'pipl-guard: request denied')
        .map((l) => l.level),
    ).toEqual([INFO]);

    const off = pinoToFile();
    await send(buildApps(guardOptions(keys, { logger: off.logger, logDenials: false })).express, {
      path: '/me',
    });
    expect(off.lines().filter((l) => l.msg === 'pipl-guard: request denied')).toEqual([]);
  });

  it('warns at start-up about clear-text subjects, in-memory withdrawals and fail-open purposes', () => {
    const log = pinoToFile();
    const policy = definePolicy({
      notice: { id: 'n', version: 1 },
      purposes: {
        'order.fulfilment': {
          basis: 'contract',
          categories: ['contact'],
          operations: ['use'],
          necessaryForService: true,
          audit: { onFailure: 'fail_open' },
        },
      },
    });
    createPiplGuard({ policy, audit: { sink: memoryAuditSink(), subjectKey: false }, logger: log.logger });
    const warnings = log.lines().filter((l) => l.level === WARN);
    expect(warnings.map((l) => l.msg)).toEqual([
      'pipl-guard: audit.subjectKey is false, so subject ids are written to the audit log in clear',
      'pipl-guard: withdrawals are kept in memory: they reach this instance only and are lost on restart',
      'pipl-guard: these purposes let requests through unrecorded while the audit log cannot be written',
    ]);
    expect(warnings[2]).toMatchObject({ purposes: ['order.fulfilment'] });

    const quiet = pinoToFile();
    guardOptions(keys, { logger: quiet.logger }); // shared revocation store, pseudonymised, fail closed
    expect(quiet.lines()).toEqual([]);
  });

  it('logs internal errors (the request still fails closed)', async () => {
    const log = pinoToFile();
    const onError = vi.fn();
    const setup = guardOptions(keys, {
      logger: log.logger,
      onError,
      revocations: {
        isRevoked: () => {
          throw new Error('redis connection lost');
        },
        revoke: async () => {},
      },
    });
    const res = await send(buildApps(setup).express, { path: '/me', token: await tokenFor(keys) });
    expect(res.status).toBe(503);
    expect(onError).toHaveBeenCalledTimes(1);
    const errors = log.lines().filter((l) => l.level === ERROR);
    expect(errors[0]).toMatchObject({
      msg: 'pipl-guard: internal error; the request was refused',
      err: { type: 'Error', message: 'redis connection lost' },
    });
  });

  it('a logger that throws does not change the answer', async () => {
    const fail = () => {
      throw new Error('log transport down');
    };
    const broken = { error: fail, warn: fail, info: fail, debug: fail };
    const app = buildApps(guardOptions(keys, { logger: broken })).express;
    const res = await send(app, { path: '/me' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('consent_required');

    // An internal error (the withdrawal list fails) is still a 503, not a 500.
    const failing = guardOptions(keys, {
      logger: broken,
      revocations: { isRevoked: fail, revoke: async () => {} },
    });
    const unavailable = await send(buildApps(failing).express, { path: '/me', token: await tokenFor(keys) });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.code).toBe('revocation_unavailable');
  });

  it('refuses a logger without the pino methods', () => {
    expect(() => guardOptions(keys, { logger: { info() {} } as never })).toThrow(PiplConfigError);
    expect(() => guardOptions(keys, { logDenials: 'error' as never })).toThrow(/logDenials/);
  });

  it.skipIf(!canMountTmpfs)(
    'logs an audit write failure (error) and the recovery (warn), once per logger (needs root for tmpfs)',
    async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const disk = fullDisk();
      const log = pinoToFile();
      try {
        const sink = fileAuditSink({ path: join(disk.dir, 'audit.jsonl'), chain: 'logged', retryMs: 1000 });
        const setup = guardOptions(keys, { logger: log.logger, audit: { sink, subjectKey: AUDIT_KEY } });
        // A second guard on the same logger must not double the sink lines.
        const second = guardOptions(keys, { logger: log.logger });
        const app = buildApps(setup).express;
        disk.fill();
        let status = 200;
        for (let i = 0; i < 2000 && status === 200; i++) {
          status = (await send(app, { path: '/orders/o-1' })).status;
          await sink.flush().catch(() => {});
        }
        expect(status).toBe(503);
        disk.free();
        vi.advanceTimersByTime(1000);
        await vi.waitFor(() => expect(sink.healthy).toBe(true), { timeout: 5000, interval: 10 });
        const lines = log.lines();
        const failed = lines.filter((l) => l.msg.startsWith('pipl-guard: audit write failed'));
        expect(failed[0]).toMatchObject({
          level: ERROR,
          audit: { event: 'write_failed', sink: 'file', chain: 'logged', error: { code: 'ENOSPC' } },
        });
        expect(failed).toHaveLength(1);
        expect(lines.filter((l) => l.msg.startsWith('pipl-guard: audit log recovered'))).toMatchObject([
          { level: WARN, audit: { event: 'recovered', chain: 'logged' } },
        ]);
        // The 503s were denials too, logged with their reason.
        expect(lines.some((l) => (l.pipl as { reason?: string })?.reason === 'audit_unavailable')).toBe(true);
        await second.guard.close();
        await setup.guard.close();
      } finally {
        vi.useRealTimers();
        disk.dispose();
      }
    },
  );
});

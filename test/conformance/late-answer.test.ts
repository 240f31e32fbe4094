/**
 * Issue 6 item 9: another middleware answered (a timeout during a slow Redis, JWKS fetch or fsync)
 * before the guard decided. The guard must then neither answer nor run the handler, and must not
 * leave a rejection unhandled: on Express, writing the denial threw ERR_HTTP_HEADERS_SENT inside a
 * promise callback, and Node's default (`--unhandled-rejections=throw`) ended the process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { RequestListener } from 'node:http';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/index.js';
import { MIDDLEWARE_FRAMEWORKS as FRAMEWORKS } from '../support/apps.js';
import { makeKeys, tokenFor } from '../support/fixture.js';
import { buildLateApps, LATE_PATH, type LateMode, WITHDRAWN_PREFIX } from '../support/late-answer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const keys = await makeKeys();
const withdrawn = await tokenFor(keys, { consentId: `${WITHDRAWN_PREFIX}1` });
const valid = await tokenFor(keys, { consentId: 'late-valid-1' });

const CASES = [
  { name: 'a denial decided after the answer', token: withdrawn, reason: 'consent_withdrawn' },
  { name: 'an allow decided after the answer', token: valid, reason: 'consent_valid' },
] as const;
const MODES: Record<LateMode, string> = {
  respond: 'guard answers denials',
  errors: "errors: 'next' / 'throw' + the library's problem handlers",
};

/** Lets pending callbacks and Node's unhandled-rejection check run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function decisionOf(records: readonly AuditRecord[]) {
  for (let i = 0; i < 1000 && !records.some((r) => r.type === 'decision'); i++) await turn();
  await turn();
  await turn();
  return records.find((r) => r.type === 'decision');
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
});

for (const framework of FRAMEWORKS) {
  for (const [mode, label] of Object.entries(MODES) as [LateMode, string][]) {
    describe(`conformance late answer (${framework}, ${label})`, () => {
      for (const c of CASES) {
        it(`${c.name}: the first answer stands, handler not run, nothing unhandled`, async () => {
          process.on('unhandledRejection', onUnhandled);
          const apps = buildLateApps(keys, mode);
          const res = await request(apps[framework]).get(LATE_PATH).set('pipl-consent', c.token);
          expect(res.status).toBe(504);
          expect(res.body).toEqual({ timedOut: true });
          const decision = await decisionOf(apps.audit.records);
          expect(decision).toMatchObject({ type: 'decision', reason: c.reason });
          expect(unhandled).toEqual([]);
          expect(apps.calls[framework]).toBe(0);
          if (c.reason === 'consent_valid') {
            // The outcome names what the client actually got: the other middleware's 504.
            const outcome = apps.audit.records.find((r) => r.type === 'outcome');
            expect(outcome).toMatchObject({ requestId: decision?.requestId, status: 504 });
          }
        });
      }
    });
  }
}

/** Starts the late-answer server under `--unhandled-rejections=strict`. */
async function startStrict(mode: LateMode) {
  const child = spawn(
    process.execPath,
    [
      '--unhandled-rejections=strict',
      '--import',
      'tsx',
      'test/support/late-answer-server.ts',
      mode,
      JSON.stringify(keys.publicJwk),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ports = await new Promise<[number, number]>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      const match = /PORTS (\d+) (\d+)/.exec(out);
      if (match) resolve([Number(match[1]), Number(match[2])]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  return { child, ports, exited, stderr: () => stderr };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('a real server under --unhandled-rejections=strict survives late answers', () => {
  for (const mode of Object.keys(MODES) as LateMode[]) {
    it(`${MODES[mode]}: Express and Koa keep serving`, async () => {
      const server = await startStrict(mode);
      let exitCode: number | null | undefined;
      void server.exited.then((code) => {
        exitCode = code;
      });
      const urls = server.ports.map((port) => `http://127.0.0.1:${port}`);
      for (const url of urls) {
        for (const c of CASES) {
          const res = await request(url as unknown as RequestListener)
            .get(LATE_PATH)
            .set('pipl-consent', c.token);
          expect(res.status).toBe(504);
        }
      }
      // Wait until the guard has finished every decision (a late rejection would have ended the
      // process right then), then prove both servers still answer.
      const expected = urls.length * CASES.length;
      let decisions = 0;
      for (let i = 0; i < 200 && decisions < expected; i++) {
        const health = await request(urls[0] as unknown as RequestListener).get('/health');
        expect(health.status).toBe(200);
        decisions = health.body.decisions;
      }
      expect(decisions).toBe(expected);
      for (const url of urls) {
        const health = await request(url as unknown as RequestListener).get('/health');
        expect(health.status).toBe(200);
      }
      expect(exitCode).toBeUndefined();
      expect(server.stderr()).not.toMatch(/ERR_HTTP_HEADERS_SENT|Unhandled|PiplGuardError/);
    });
  }
});

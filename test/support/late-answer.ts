/**
 * Apps where another middleware answers while the guard is still deciding, as a timeout middleware
 * does during a slow Redis, JWKS fetch or fsync (issue 6 item 9).
 *
 * No sleeps: the revocation lookup is the slow step. When the guard starts it, the app's "timeout"
 * middleware answers 504 at once; once that response has finished, the lookup completes (withdrawn
 * or not), and the guard goes on with its decision on a response that has already been sent.
 */
import type { RequestListener, ServerResponse } from 'node:http';
import Router from '@koa/router';
import express, { type Request } from 'express';
import Koa, { type Context } from 'koa';
import { expressGuard, piplProblemHandler } from '../../src/adapters/express/index.js';
import { koaGuard, piplProblems } from '../../src/adapters/koa/index.js';
import { createPiplGuard, memoryAuditSink, type RevocationStore } from '../../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, type Keys, policy } from './fixture.js';

export const LATE_PATH = '/users/user-1/profile';
/** Consent ids the slow store answers "withdrawn" for: the guard then denies after the answer. */
export const WITHDRAWN_PREFIX = 'late-withdrawn-';

export type LateMode = 'respond' | 'errors';

/** A store whose lookup does not complete until the current response has finished. */
function slowRevocations() {
  let answerNow: (() => void) | undefined;
  let pendingResponse: ServerResponse | undefined;
  const store: RevocationStore = {
    isRevoked(consentId) {
      const res = pendingResponse;
      return new Promise<boolean>((resolve) => {
        const done = () => resolve(consentId.startsWith(WITHDRAWN_PREFIX));
        if (!res) return done();
        if (res.writableFinished) return done();
        res.once('finish', done);
        answerNow?.();
      });
    },
    revoke() {},
  };
  return {
    store,
    /** Registers the response being timed out and what answers it when the lookup starts. */
    watch(res: ServerResponse, answer: () => void) {
      pendingResponse = res;
      answerNow = answer;
    },
  };
}

export function buildLateApps(keys: Keys, mode: LateMode) {
  const audit = memoryAuditSink();
  const slow = slowRevocations();
  const pipl = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    revocations: slow.store,
    audit: { sink: audit, subjectKey: AUDIT_KEY },
  });
  const calls = { express: 0, koa: 0 };

  /** How many decisions the guard has finished: a caller waits for them instead of sleeping. */
  const decided = () => audit.records.filter((record) => record.type === 'decision').length;
  const app = express();
  app.get('/health', (_req, res) => res.json({ ok: true, decisions: decided() }));
  app.use((_req, res, next) => {
    slow.watch(res, () => {
      if (!res.headersSent) res.status(504).json({ timedOut: true });
    });
    next();
  });
  const guard = expressGuard(pipl, mode === 'errors' ? { errors: 'next' } : {});
  app.get(
    '/users/:id/profile',
    guard('account.profile', { operation: 'use', subject: (req: Request) => String(req.params.id) }),
    (_req, res) => {
      calls.express++;
      res.json({ handler: true });
    },
  );
  if (mode === 'errors') app.use(piplProblemHandler());

  const koa = new Koa();
  koa.silent = true;
  if (mode === 'errors') koa.use(piplProblems());
  koa.use(async (ctx, next) => {
    if (ctx.path === '/health') {
      ctx.body = { ok: true, decisions: decided() };
      return;
    }
    // The usual timeout middleware shape: race the rest of the chain against a timer, answer
    // 504 when the timer wins. The losing `next()` promise is left behind, so if the guard
    // rejected later, that rejection would be unhandled.
    const timedOut = new Promise<void>((resolve) => slow.watch(ctx.res, resolve));
    await Promise.race([next(), timedOut]);
    if (!ctx.headerSent && ctx.body === undefined) {
      ctx.status = 504;
      ctx.body = { timedOut: true };
    }
  });
  const router = new Router();
  router.get(
    '/users/:id/profile',
    koaGuard(pipl, mode === 'errors' ? { errors: 'throw' } : {})('account.profile', {
      operation: 'use',
      subject: (ctx: Context) => String((ctx as Context & { params: { id: string } }).params.id),
    }),
    (ctx) => {
      calls.koa++;
      ctx.body = { handler: true };
    },
  );
  koa.use(router.routes());

  return {
    express: app as unknown as RequestListener,
    koa: koa.callback() as RequestListener,
    audit,
    calls,
  };
}

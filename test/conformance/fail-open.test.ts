/**
 * Issue 6 item 11: `audit.onFailure: 'fail_open'` never lets a child's personal information through
 * unaudited. The policy refuses fail_open for sensitive and children's purposes at start-up, but
 * whether the subject is under 14 is only known from the token, at request time (Art. 28: all PI of
 * a child under 14 is sensitive; Art. 31).
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { koaGuard } from '../../src/adapters/koa/index.js';
import {
  type AuditSink,
  createPiplGuard,
  definePolicy,
  memoryAuditSink,
  PiplGuardError,
} from '../../src/index.js';
import { FRAMEWORKS, type Framework } from '../support/apps.js';
import { expectProblem, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

const keys = await makeKeys();

const policy = definePolicy({
  notice: { id: 'test-notice', version: 2 },
  purposes: {
    // Ordinary PI, explicitly allowed to go on unaudited while the log is failing.
    'usage.analytics': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: true,
      audit: { durability: 'buffered', onFailure: 'fail_open' },
    },
  },
});

const usage = (consentType: 'general' | 'guardian') => ({
  purpose: 'usage.analytics',
  categories: ['behavior'],
  ops: ['use' as const],
  consentType,
});
const adult = await tokenFor(keys, { grants: [usage('general')] });
/** A child's consent, given by a verified guardian: allowed, and so it must be recorded. */
const child = await tokenFor(keys, {
  ageBand: 'under14',
  guardian: { id: 'parent-1', method: 'verified_account' },
  grants: [usage('guardian')],
});

/** How the log fails: closed (refuses before the decision) or failing the append of the record. */
const FAILURES: Record<string, () => AuditSink> = {
  'a closed log': () => {
    const sink = memoryAuditSink();
    void sink.close();
    return sink;
  },
  'a log whose write fails': () => {
    const sink = memoryAuditSink();
    return {
      ...sink,
      get healthy() {
        return true;
      },
      append() {
        throw new PiplGuardError('audit_unavailable', 'disk full');
      },
      noteDropped: sink.noteDropped,
    };
  },
};

function build(framework: Framework, sink: AuditSink, keysFor: Keys) {
  const pipl = createPiplGuard({
    policy,
    consent: {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwks: { keys: [keysFor.publicJwk] },
    },
    audit: { sink, subjectKey: AUDIT_KEY },
  });
  const calls = { count: 0 };
  const route = {
    operation: 'use' as const,
    subject: (r: { params: Record<string, string | undefined> }) => r.params.id,
  };
  if (framework === 'express') {
    const app = express();
    app.get('/users/:id/usage', expressGuard(pipl)('usage.analytics', route as never), (_req, res) => {
      calls.count++;
      res.json({ ok: true });
    });
    return { app: app as unknown as RequestListener, calls };
  }
  const router = new Router();
  router.get('/users/:id/usage', koaGuard(pipl)('usage.analytics', route as never), (ctx) => {
    calls.count++;
    ctx.body = { ok: true };
  });
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  return { app: app.callback() as RequestListener, calls };
}

for (const framework of FRAMEWORKS) {
  describe(`conformance fail_open never covers children (${framework})`, () => {
    for (const [failure, makeSink] of Object.entries(FAILURES)) {
      it(`${failure}: an adult's request on a fail_open purpose goes on (control)`, async () => {
        const { app, calls } = build(framework, makeSink(), keys);
        const res = await send(app, { path: '/users/user-1/usage', token: adult });
        expect(res.status).toBe(200);
        expect(calls.count).toBe(1);
      });

      it(`${failure}: an under-14 consent on a fail_open purpose → 503 audit_unavailable`, async () => {
        const { app, calls } = build(framework, makeSink(), keys);
        const res = await send(app, { path: '/users/user-1/usage', token: child });
        expectProblem(res, 'audit_unavailable');
        expect(calls.count).toBe(0);
      });
    }
  });
}

/**
 * Issue 6 item 4: the audit `route` is a pattern the application wrote, never text from the request.
 *
 * Attack: a router mounted under a path with a parameter (`/accounts/:email`) used to be audited as
 * `req.baseUrl + route.path`, i.e. the raw matched URL: the e-mail lands in clear text in a log whose
 * subjects are otherwise HMAC'd, and the client picks the label's case, encoding and length.
 */
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express, { type Request } from 'express';
import Koa, { type Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { koaGuard } from '../../src/adapters/koa/index.js';
import type { AuditRecord } from '../../src/index.js';
import { MIDDLEWARE_FRAMEWORKS as FRAMEWORKS } from '../support/apps.js';

type Framework = (typeof FRAMEWORKS)[number];

import { send } from '../support/assertions.js';
import { guardOptions, makeKeys, tokenFor } from '../support/fixture.js';

const keys = await makeKeys();
const EMAIL = 'alice.secret@example.cn';
const token = await tokenFor(keys, { subject: EMAIL });

/** The same e-mail as the client may spell it in the URL: case, percent-encoding, padding. */
const SPELLINGS = [
  `/accounts/${EMAIL}/profile`,
  `/accounts/${EMAIL.toUpperCase()}/profile`,
  `/accounts/${encodeURIComponent(EMAIL).replace('.', '%2E')}/profile`,
  `/accounts/${EMAIL}${'%20'.repeat(2000)}/profile`,
];

type Params = { email: string };

function build(framework: Framework, mountPath: string | undefined) {
  const setup = guardOptions(keys);
  if (framework === 'express') {
    const guard = expressGuard(setup.guard, mountPath ? { mountPath } : {});
    const accounts = express.Router({ mergeParams: true });
    accounts.get(
      '/profile',
      guard('account.profile', {
        operation: 'use',
        subject: (req: Request) =>
          decodeURIComponent(String((req.params as Params).email))
            .trim()
            .toLowerCase(),
      }),
      (_req, res) => res.json({ ok: true }),
    );
    const app = express();
    app.use('/accounts/:email', accounts);
    return { setup, app: app as unknown as RequestListener };
  }
  const guard = koaGuard(setup.guard, mountPath ? { mountPath } : {});
  const accounts = new Router();
  accounts.get(
    '/profile',
    guard('account.profile', {
      operation: 'use',
      subject: (ctx: Context) =>
        decodeURIComponent(String((ctx as Context & { params: Params }).params.email))
          .trim()
          .toLowerCase(),
    }),
    (ctx) => {
      ctx.body = { ok: true };
    },
  );
  const router = new Router();
  router.use('/accounts/:email', accounts.routes());
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  return { setup, app: app.callback() as RequestListener };
}

function decision(records: readonly unknown[]) {
  const found = (records as AuditRecord[]).filter((record) => record.type === 'decision');
  expect(found).toHaveLength(1);
  return found[0] as Extract<AuditRecord, { type: 'decision' }>;
}

/** The e-mail in any spelling the client could choose, lower-cased for a case-blind search. */
const LEAKS = [EMAIL, 'alice', 'secret', 'example', '%40', '%2e', '%20'];

function expectNoRequestText(record: unknown) {
  const json = JSON.stringify(record).toLowerCase();
  for (const leak of LEAKS) expect(json).not.toContain(leak);
}

// Without a label Koa still knows the whole pattern (@koa/router prefixes nested routes with the
// mount pattern); Express only knows the route's own pattern, so the mount label is configured.
const UNLABELLED: Record<Framework, string> = { express: '/profile', koa: '/accounts/:email/profile' };
/** Express: the router's mount pattern. Koa: a prefix the router cannot know (e.g. koa-mount's). */
const MOUNT: Record<Framework, { mountPath: string; route: string }> = {
  express: { mountPath: '/accounts/:email', route: '/accounts/:email/profile' },
  koa: { mountPath: '/api/', route: '/api/accounts/:email/profile' },
};

for (const framework of FRAMEWORKS) {
  describe(`conformance audit route label (${framework})`, () => {
    for (const path of SPELLINGS) {
      it(`a mounted router audits the pattern, not ${path.slice(0, 48)}…`, async () => {
        const { setup, app } = build(framework, undefined);
        const res = await send(app, { path, token });
        expect(res.status).toBe(200);
        const record = decision(setup.audit.records);
        expect(record.route).toBe(UNLABELLED[framework]);
        expectNoRequestText(record);
      });
    }

    it('mountPath labels the mount point with the pattern the application configured', async () => {
      const { setup, app } = build(framework, MOUNT[framework].mountPath);
      for (const path of SPELLINGS) expect((await send(app, { path, token })).status).toBe(200);
      const records = (setup.audit.records as AuditRecord[]).filter((r) => r.type === 'decision');
      expect(records.map((record) => record.route)).toEqual(SPELLINGS.map(() => MOUNT[framework].route));
      for (const record of records) expectNoRequestText(record);
    });

    it('a mountPath that is not a path is refused at start-up', () => {
      const { guard } = guardOptions(keys);
      const bind = framework === 'express' ? expressGuard : koaGuard;
      for (const mountPath of ['accounts', `/${'a'.repeat(300)}`, '/a\nb']) {
        expect(() => bind(guard, { mountPath } as never)).toThrow(/mountPath/);
      }
    });
  });
}

import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { expressGuard, subjectRoutes as expressSubjectRoutes } from '../../src/adapters/express/index.js';
import { koaGuard, subjectRoutes as koaSubjectRoutes } from '../../src/adapters/koa/index.js';
import {
  type AuditSink,
  createPiplGuard,
  definePolicy,
  type IssueConsentOptions,
  issueConsentToken,
  memoryAuditSink,
  type PiplGuard,
  type PiplGuardOptions,
} from '../../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, type Keys } from '../support/fixture.js';

export const subjectPolicy = definePolicy({
  notice: { id: 'shop-privacy', version: 3 },
  purposes: {
    'account.profile': {
      basis: 'consent',
      categories: ['identity_basic', 'contact'],
      operations: ['use'],
      necessaryForService: true,
    },
    'marketing.personalized': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-1',
    },
    'marketing.newsletter': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: false,
      marketing: true,
    },
    // A personalised ranking the shop runs under its contract with the user: Art. 24(2) still applies.
    'shop.ranking': {
      basis: 'contract',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: true,
      personalization: true,
      piaRef: 'PIA-2',
    },
    'delivery.partner': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-3',
    },
    // Answering rights requests is the handler's legal duty (Art. 13(1)(3), 44-50).
    'account.rights': {
      basis: 'statutory',
      categories: ['identity_basic', 'contact', 'behavior'],
      operations: ['use', 'delete', 'transmit'],
      necessaryForService: true,
    },
  },
});
export type SubjectPurpose = typeof subjectPolicy extends { purposes: ReadonlyMap<infer P, unknown> }
  ? P
  : never;

export const GRANTS: IssueConsentOptions['grants'] = [
  {
    purpose: 'account.profile',
    categories: ['identity_basic', 'contact'],
    ops: ['use'],
    consentType: 'general',
  },
  { purpose: 'marketing.personalized', categories: ['behavior'], ops: ['use'], consentType: 'general' },
  { purpose: 'marketing.newsletter', categories: ['contact'], ops: ['use'], consentType: 'general' },
  {
    purpose: 'delivery.partner',
    categories: ['contact'],
    ops: ['provide'],
    consentType: 'separate',
    recipients: [{ name: 'SF Express' }],
  },
];

export function consentToken(keys: Keys, overrides: Partial<IssueConsentOptions> = {}): Promise<string> {
  return issueConsentToken({
    privateKey: keys.privateKey,
    alg: 'ES256',
    kid: 'test-key-1',
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'u1',
    notice: { id: 'shop-privacy', version: 3 },
    grants: GRANTS,
    ...overrides,
  });
}

export type Guard = PiplGuard<SubjectPurpose, never>;

export function subjectGuard(keys: Keys, extra: Partial<PiplGuardOptions<SubjectPurpose, never>> = {}) {
  const sink: AuditSink & { records: readonly unknown[] } = memoryAuditSink();
  const errors: unknown[] = [];
  const pipl = createPiplGuard<SubjectPurpose, never>({
    policy: subjectPolicy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    audit: { sink, subjectKey: AUDIT_KEY, instance: 'api-1' },
    onError: (error) => errors.push(error),
    ...extra,
  });
  return { pipl, sink, errors };
}

/** The caller, as the test app authenticates them: the `x-user` header (tests only). */
const caller = (header: string | string[] | undefined) => (typeof header === 'string' ? header : undefined);

/** The same shop routes on Express and on Koa. */
export function shopApps(
  pipl: Guard,
  koaApp = new Koa(),
): { express: RequestListener; koa: RequestListener } {
  const guard = expressGuard(pipl, { actor: (req) => caller(req.headers['x-user']) });
  const app = express();
  const id = (req: express.Request) => String(req.params.id);
  const echo = (res: express.Response) =>
    res.json({ reason: res.locals.pipl?.decision.reason, degraded: res.locals.pipl?.degraded });
  app.get('/users/:id/profile', guard('account.profile', { operation: 'use', subject: id }), (_q, r) =>
    echo(r),
  );
  app.get('/users/:id/feed', guard('marketing.personalized', { operation: 'use', subject: id }), (_q, r) =>
    echo(r),
  );
  app.get(
    '/users/:id/newsletter',
    guard('marketing.newsletter', { operation: 'use', subject: id }),
    (_q, r) => echo(r),
  );
  app.get('/users/:id/ranking', guard('shop.ranking', { operation: 'use', subject: id }), (_q, r) => echo(r));
  app.get(
    '/users/:id/data',
    guard('account.rights', { operation: 'use', rightsRequest: 'access', subject: id }),
    (_q, r) => echo(r),
  );
  app.delete(
    '/users/:id',
    guard('account.rights', { operation: 'delete', rightsRequest: 'deletion', subject: id }),
    (_q, r) => echo(r),
  );
  app.post(
    '/users/:id/ship',
    guard('delivery.partner', { operation: 'provide', recipient: 'SF Express', subject: id }),
    (_q, r) => echo(r),
  );
  app.get('/me/data', guard('account.rights', { operation: 'use', rightsRequest: 'copy' }), (_q, r) =>
    echo(r),
  );

  const kg = koaGuard(pipl, { actor: (ctx) => caller(ctx.get('x-user') || undefined) });
  const router = new Router();
  const kid = (ctx: Koa.Context) => String(ctx.params.id);
  const kecho = (ctx: Koa.Context) => {
    ctx.body = { reason: ctx.state.pipl?.decision.reason, degraded: ctx.state.pipl?.degraded };
  };
  router.get('/users/:id/profile', kg('account.profile', { operation: 'use', subject: kid }), kecho);
  router.get('/users/:id/feed', kg('marketing.personalized', { operation: 'use', subject: kid }), kecho);
  router.get('/users/:id/newsletter', kg('marketing.newsletter', { operation: 'use', subject: kid }), kecho);
  router.get('/users/:id/ranking', kg('shop.ranking', { operation: 'use', subject: kid }), kecho);
  router.get(
    '/users/:id/data',
    kg('account.rights', { operation: 'use', rightsRequest: 'access', subject: kid }),
    kecho,
  );
  router.delete(
    '/users/:id',
    kg('account.rights', { operation: 'delete', rightsRequest: 'deletion', subject: kid }),
    kecho,
  );
  router.get('/me/data', kg('account.rights', { operation: 'use', rightsRequest: 'copy' }), kecho);
  const koa = koaApp.use(router.routes());
  return { express: app as unknown as RequestListener, koa: koa.callback() };
}

/** The consent service's records, as `subjectRoutes` asks for them. */
export const CONSENT_RECORDS: Record<
  string,
  { id: string; purposes: string[]; givenAt: number; expiresAt: number }[]
> = {
  u1: [
    {
      id: 'c-u1-a',
      purposes: ['account.profile', 'marketing.newsletter'],
      givenAt: 1_700_000_000,
      expiresAt: 4_000_000_000,
    },
  ],
  u2: [{ id: 'c-u2-a', purposes: ['account.profile'], givenAt: 1_700_000_000, expiresAt: 4_000_000_000 }],
};

/** Shop routes plus the subject endpoints under `/privacy`, on either framework. */
export function privacyApps(
  pipl: Guard,
  onWithdraw?: Parameters<typeof expressSubjectRoutes>[1]['onWithdraw'],
): { express: RequestListener; koa: RequestListener } {
  const consents = (subject: string) => CONSENT_RECORDS[subject] ?? [];
  const app = express();
  app.use(
    '/privacy',
    expressSubjectRoutes(pipl, {
      authenticate: (req) => caller(req.headers['x-user']),
      consents,
      ...(onWithdraw ? { onWithdraw } : {}),
    }),
  );
  const koa = new Koa();
  koa.use(
    koaSubjectRoutes(pipl, {
      prefix: '/privacy',
      authenticate: (ctx) => caller(ctx.get('x-user') || undefined),
      consents,
      ...(onWithdraw ? { onWithdraw } : {}),
    }),
  );
  const shop = shopApps(pipl, koa);
  app.use(shop.express as unknown as express.RequestHandler);
  return { express: app as unknown as RequestListener, koa: shop.koa };
}

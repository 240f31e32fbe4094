// The app of the README's Koa quick start, as a factory for the in-repo tests (test/quickstart.test.ts).
// The README's own code runs verbatim against the packed package in test/pack.test.ts.
import Router from '@koa/router';
import Koa from 'koa';
import { createPiplGuard, definePolicy, fileAuditSink } from 'pipl-guard';
import { koaGuard } from 'pipl-guard/koa';

const policy = definePolicy({
  notice: { id: 'shop-privacy', version: 3 },
  purposes: {
    'marketing.personalized': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-2026-011', // Art. 16 + 24
    },
  },
});

export function createApp(env: { jwksUri: string; auditKey: string; auditPath: string }) {
  const pipl = createPiplGuard({
    policy,
    consent: {
      issuer: 'https://consent.example.cn',
      audience: 'shop-api',
      algorithms: ['ES256'],
      jwksUri: env.jwksUri,
    },
    audit: { sink: fileAuditSink({ path: env.auditPath }), subjectKey: env.auditKey },
  });
  const guard = koaGuard(pipl);
  const router = new Router();
  router.get(
    '/users/:id/feed',
    guard('marketing.personalized', { operation: 'use', subject: (ctx) => ctx.params.id }),
    (ctx) => {
      ctx.body = ctx.state.pipl?.degraded ? { feed: 'bestsellers' } : { feed: `picked for ${ctx.params.id}` };
    },
  );
  return { app: new Koa().use(router.routes()), pipl };
}

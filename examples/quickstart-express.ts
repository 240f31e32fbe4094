// The app of the README's Express quick start, as a factory for the in-repo tests (test/quickstart.test.ts).
// The README's own code runs verbatim against the packed package in test/pack.test.ts.
import express from 'express';
import { createPiplGuard, definePolicy, fileAuditSink } from 'pipl-guard';
import { expressGuard } from 'pipl-guard/express';

const policy = definePolicy({
  notice: { id: 'shop-privacy', version: 3 },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    },
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-2026-007', // sensitive PI: separate consent + impact assessment
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
  const guard = expressGuard(pipl);
  const app = express();
  app.get(
    '/users/:id/records',
    guard('health.records', { operation: 'use', subject: (req) => req.params.id }),
    (req, res) => {
      res.json({ user: req.params.id, consent: res.locals.pipl?.consent?.id });
    },
  );
  return { app, pipl };
}

/**
 * A consent centre (个人信息同意中心): a server-rendered page where a signed-in user sees their
 * consents and preferences, withdraws consent and opts out of personalised recommendations or
 * marketing — next to the shop API that honours each change on its next request.
 *
 * No build step: the page is HTML from `page.ts`, and its buttons call the ready-made subject
 * endpoints (`subjectRoutes`) with `fetch`. Sign-in is a demo cookie (`uid`); use your own.
 */
import express, { type Request } from 'express';
import { expressGuard, subjectRoutes } from '../../src/adapters/express/index.js';
import {
  type ConsentSummary,
  createConsentKeyring,
  createPiplGuard,
  definePolicy,
  issueConsentToken,
  memoryAuditSink,
  memorySubjectStore,
  type SubjectStore,
} from '../../src/index.js';
import { renderConsentCenter } from './page.js';

const ISSUER = 'https://consent.shop.example.cn';
const AUDIENCE = 'shop-api';
const NOTICE = { id: 'shop-privacy', version: 3 };

export const policy = definePolicy({
  notice: NOTICE,
  purposes: {
    'marketing.personalized': {
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      necessaryForService: false,
      personalization: true,
      onMissingConsent: 'degrade',
      piaRef: 'PIA-2026-011',
      description: '个性化推荐 Personalised recommendations',
    },
    'marketing.newsletter': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: false,
      marketing: true,
      description: '营销信息 Marketing messages',
    },
  },
});

/** The demo's sign-in: the `uid` cookie. A real app uses its session. */
function signedIn(req: Request): string | undefined {
  const match = /(?:^|;\s*)uid=([A-Za-z0-9_-]{1,64})/.exec(req.headers.cookie ?? '');
  return match?.[1];
}

export async function createConsentCenter(options: { subjects?: SubjectStore } = {}) {
  const keyring = await createConsentKeyring({ alg: 'ES256' });
  const audit = memoryAuditSink();
  const pipl = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: keyring.jwks() },
    audit: { sink: audit, subjectKey: 'consent-center-demo-key-0123456789abcdef' },
    subjects: options.subjects ?? memorySubjectStore(),
  });
  /** What the consent service recorded when the user agreed: one consent per subject in this demo. */
  const consents = (subject: string): ConsentSummary[] => [
    {
      id: `consent-${subject}`,
      purposes: ['marketing.personalized', 'marketing.newsletter'],
      givenAt: Math.floor(Date.now() / 1000) - 60,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    },
  ];
  /** The token the shop's client holds for that consent. */
  const tokenFor = (subject: string) =>
    issueConsentToken({
      ...keyring.signer(),
      issuer: ISSUER,
      audience: AUDIENCE,
      subject,
      consentId: `consent-${subject}`,
      now: Math.floor(Date.now() / 1000) - 60,
      notice: NOTICE,
      grants: [
        { purpose: 'marketing.personalized', categories: ['behavior'], ops: ['use'], consentType: 'general' },
        { purpose: 'marketing.newsletter', categories: ['contact'], ops: ['use'], consentType: 'general' },
      ],
    });

  const app = express();
  const guard = expressGuard(pipl, { actor: signedIn });
  const user = (req: Request) => String(req.params.id);
  // The shop API, guarded as usual.
  app.get(
    '/api/users/:id/recommendations',
    guard('marketing.personalized', { operation: 'use', subject: user }),
    (_req, res) => {
      const personalised = !res.locals.pipl?.degraded;
      res.json({
        personalised,
        items: personalised
          ? ['为你推荐: 绿茶', 'Picked for you: green tea']
          : ['热销: 月饼', 'Bestseller: mooncakes'],
      });
    },
  );
  app.get(
    '/api/users/:id/newsletter',
    guard('marketing.newsletter', { operation: 'use', subject: user }),
    (_req, res) => {
      res.json({ subscribed: true });
    },
  );
  // The data subject's endpoints, and the page that uses them.
  app.use('/privacy', subjectRoutes(pipl, { authenticate: signedIn, consents }));
  app.get('/consent-center', async (req, res) => {
    const subject = signedIn(req);
    if (!subject) {
      res
        .status(401)
        .type('html')
        .send('<!doctype html><meta charset="utf-8"><p>请先登录 Please sign in</p>');
      return;
    }
    const stored = await pipl.subjects?.list(subject);
    res.type('html').send(renderConsentCenter(subject, consents(subject), stored));
  });
  return { app, pipl, audit, tokenFor };
}

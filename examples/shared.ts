import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CryptoKey, generateKeyPair, type JWK } from 'jose';
import {
  createPiplGuard,
  fileAuditSink,
  type IssueConsentOptions,
  issueConsentToken,
  type PiplContext,
  type PiplGuard,
} from '../src/index.js';
import { AUDIENCE, DELIVERY_PARTNER, ISSUER, NOTICE, policy, type ShopPurpose } from './policy.js';

/** What both example apps need from their host: the consent service's key and where to audit. */
export interface ExampleAppOptions {
  /** Public key of the consent service that signs consent tokens. */
  publicKey: CryptoKey | JWK;
  /** JSON-lines audit file; created when missing, continued when present. */
  auditPath: string;
  /** HMAC key (≥ 32 bytes) that pseudonymises subject ids in the audit log. */
  auditKey: string;
  /** Audit chain name, one per writer (default `shop-api`). */
  chain?: string;
}

export type ShopGuard = PiplGuard<ShopPurpose, 'child_learning'>;

/** Where `tsx examples/*.ts` and the demo keep their audit logs (gitignored). */
export const DEMO_DIR = fileURLToPath(new URL('../.demo/', import.meta.url));

export function createShopGuard(options: ExampleAppOptions): ShopGuard {
  return createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], key: options.publicKey },
    audit: {
      sink: fileAuditSink({ path: options.auditPath, chain: options.chain ?? 'shop-api' }),
      subjectKey: options.auditKey,
      service: 'shop-api',
    },
  });
}

/** Every response says which decision let it through, so clients and the demo can see it. */
function reply(pipl: PiplContext | undefined, data: Record<string, unknown>) {
  return { decision: pipl?.decision.reason, requestId: pipl?.requestId, ...data };
}

/** Response bodies, framework-free, so the Express and Koa apps answer identically. */
export const views = {
  orders: (userId: string, pipl?: PiplContext) =>
    reply(pipl, { userId, orders: [{ id: 'SO-20260114-0007', total: 'CNY 268.00', status: 'shipped' }] }),

  recommendations(userId: string, pipl?: PiplContext) {
    // Art. 16, 24: without consent, or after an opt-out, recommend without looking at this user's history.
    if (!pipl || pipl.degraded) {
      return reply(pipl, { personalised: false, items: ['Bestseller: electric kettle', 'New: green tea'] });
    }
    return reply(pipl, {
      userId,
      personalised: true,
      items: ['Refill: vitamin D3', 'Because you read: 三体'],
    });
  },

  prescriptions: (userId: string, pipl?: PiplContext) =>
    reply(pipl, { userId, prescriptions: [{ drug: 'Amoxicillin 500 mg', refillsLeft: 1 }] }),

  shipment: (userId: string, pipl?: PiplContext) =>
    reply(pipl, { userId, providedTo: DELIVERY_PARTNER, waybill: 'SF1402026011400' }),

  learningProfile: (userId: string, pipl?: PiplContext) =>
    reply(pipl, { userId, readingLevel: 'Grade 2', streakDays: 12 }),
};

type TokenRequest = Pick<IssueConsentOptions, 'subject' | 'grants'> & Partial<IssueConsentOptions>;

/** Issues a consent token as the shop's consent service would (defaults: this policy, adult subject). */
export function issueShopToken(privateKey: CryptoKey, request: TokenRequest): Promise<string> {
  return issueConsentToken({
    privateKey,
    alg: 'ES256',
    issuer: ISSUER,
    audience: AUDIENCE,
    notice: NOTICE,
    expiresInSec: 600,
    ...request,
  });
}

/** True when this module is the script tsx/node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/**
 * Runs an example app as a local dev server: throwaway ES256 key, audit log under `.demo/`, a curl
 * command with a fresh token, and a clean audit close on Ctrl-C.
 */
export async function runDevServer(
  name: string,
  defaultPort: number,
  build: (options: ExampleAppOptions) => { pipl: ShopGuard; listener: RequestListener },
): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const auditPath = resolve(DEMO_DIR, `${name}-dev.jsonl`);
  // Dev only: a production key comes from a secret store and stays stable, so pseudonyms stay stable.
  const auditKey = process.env.PIPL_AUDIT_KEY ?? randomBytes(32).toString('hex');
  const { pipl, listener } = build({ publicKey, auditPath, auditKey, chain: `shop-${name}` });
  await pipl.ready();

  const port = Number(process.env.PORT ?? defaultPort);
  const server = createServer(listener);
  await new Promise<void>((done) => server.listen(port, done));
  const token = await issueShopToken(privateKey, {
    subject: 'u1001',
    grants: [
      { purpose: 'marketing.personalized', categories: ['behavior'], ops: ['use'], consentType: 'general' },
      {
        purpose: 'health.prescriptions',
        categories: ['medical_health', 'identity_basic'],
        ops: ['use'],
        consentType: 'separate',
      },
    ],
  });
  console.log(`${name} example on http://localhost:${port}, audit log ${auditPath}`);
  console.log('Try (token valid for 10 minutes, for user u1001):\n');
  console.log(`curl -s http://localhost:${port}/users/u1001/recommendations -H 'pipl-consent: ${token}'\n`);
  console.log('Also: /users/u1001/prescriptions with the same token, or any route without it.');

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    // Closing the sink writes a writer_stop record, so the next start knows the log ended cleanly.
    pipl.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('audit log did not close cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

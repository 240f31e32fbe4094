import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../examples/quickstart-express.js';
import { createApp as createKoaApp } from '../examples/quickstart-koa.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { issueConsentToken } from '../src/index.js';

// The README's quick starts, run as written against a real JWKS endpoint on 127.0.0.1.
let jwksServer: Server;
let jwksUri: string;
let privateKey: CryptoKey;
const auditKey = 'quickstart-audit-key-0123456789abcdef0123';

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] });
  jwksServer = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(jwks));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise((resolve) => jwksServer.close(resolve)));

const token = (
  grant: { purpose: string; categories: string[]; consentType: 'general' | 'separate' },
  personalization = true,
) =>
  issueConsentToken({
    privateKey,
    alg: 'ES256',
    kid: 'k1',
    issuer: 'https://consent.example.cn',
    audience: 'shop-api',
    subject: 'u42',
    notice: { id: 'shop-privacy', version: 3 },
    personalization,
    grants: [{ ...grant, ops: ['use'] }],
  });

describe('README quick start: Express', () => {
  it('needs separate consent for health records and audits every decision', async () => {
    const auditPath = join(mkdtempSync(join(tmpdir(), 'qs-')), 'audit.jsonl');
    const { app, pipl } = createExpressApp({ jwksUri, auditKey, auditPath });
    const general = await token({
      purpose: 'health.records',
      categories: ['medical_health'],
      consentType: 'general',
    });
    const separate = await token({
      purpose: 'health.records',
      categories: ['medical_health'],
      consentType: 'separate',
    });

    const denied = await request(app).get('/users/u42/records').set('pipl-consent', general);
    expect([denied.status, denied.body.code]).toEqual([403, 'sensitive_separate_consent_required']);
    const allowed = await request(app).get('/users/u42/records').set('pipl-consent', separate);
    expect(allowed.status).toBe(200);
    expect(allowed.body.user).toBe('u42');

    await pipl.close();
    const verified = await verifyAuditLog(auditPath);
    expect(verified.valid).toBe(true);
  });
});

describe('README quick start: Koa', () => {
  it('degrades to a non-personalised feed without consent or after opt-out (Art. 16, 24)', async () => {
    const auditPath = join(mkdtempSync(join(tmpdir(), 'qs-')), 'audit.jsonl');
    const { app, pipl } = createKoaApp({ jwksUri, auditKey, auditPath });
    const server = app.callback();
    const grant = {
      purpose: 'marketing.personalized',
      categories: ['behavior'],
      consentType: 'general' as const,
    };

    const personal = await request(server)
      .get('/users/u42/feed')
      .set('pipl-consent', await token(grant));
    expect(personal.body).toEqual({ feed: 'picked for u42' });
    const optedOut = await request(server)
      .get('/users/u42/feed')
      .set('pipl-consent', await token(grant, false));
    expect(optedOut.body).toEqual({ feed: 'bestsellers' });
    const anonymous = await request(server).get('/users/u42/feed');
    expect(anonymous.body).toEqual({ feed: 'bestsellers' });

    await pipl.close();
    expect((await verifyAuditLog(auditPath)).valid).toBe(true);
  });
});

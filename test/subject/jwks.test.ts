import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import {
  type ConsentKeyring,
  createConsentKeyring,
  createPiplGuard,
  issueConsentToken,
  jwksHandler,
  memoryAuditSink,
} from '../../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER } from '../support/fixture.js';
import { GRANTS, type SubjectPurpose, subjectPolicy } from './setup.js';

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
}
afterAll(() => {
  for (const server of servers) server.close();
});
afterEach(() => {
  vi.useRealTimers();
});

function guardFor(jwksUri: string) {
  const pipl = createPiplGuard<SubjectPurpose, never>({
    policy: subjectPolicy,
    consent: {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwksUri,
      jwksCacheMaxAgeMs: 120_000,
    },
    audit: { sink: memoryAuditSink(), subjectKey: AUDIT_KEY },
  });
  const app = express();
  app.get(
    '/users/:id/profile',
    expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
    (_req, res) => res.json({ ok: true }),
  );
  return { pipl, app };
}

const token = (keyring: ConsentKeyring) =>
  issueConsentToken({
    ...keyring.signer(),
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'u1',
    notice: { id: 'shop-privacy', version: 3 },
    grants: GRANTS,
  });

describe('consent keyring + remote JWKS over HTTP', () => {
  let keyring: ConsentKeyring;
  let uri: string;
  beforeAll(async () => {
    keyring = await createConsentKeyring({ alg: 'ES256' });
    uri = await serve(jwksHandler(keyring));
  });

  it('serves the public keys only, as a JWK set', async () => {
    const response = await fetch(uri);
    expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
    const body = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig', kid: keyring.signer().kid });
    expect(body.keys[0]?.d).toBeUndefined();
  });

  it('rotates: old and new key valid together, then the old one retired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { pipl, app } = guardFor(uri);
    await pipl.ready();
    const oldKid = keyring.signer().kid;
    const oldToken = await token(keyring);
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', oldToken)).status).toBe(200);

    const newKid = await keyring.addKey('k-2027');
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    vi.advanceTimersByTime(31_000); // past the verifier's 30 s JWKS cooldown
    keyring.useKey(newKid);
    const newToken = await token(keyring);
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', newToken)).status).toBe(200);
    // A token from the old key, issued now, still verifies: both keys are valid at once.
    const stillOld = await issueConsentToken({
      ...keyring.signer(),
      privateKey: (await createConsentKeyringFrom(keyring, oldKid)).privateKey,
      kid: oldKid,
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'u1',
      notice: { id: 'shop-privacy', version: 3 },
      grants: GRANTS,
    });
    expect((await request(app).get('/users/u1/profile').set('pipl-consent', stillOld)).status).toBe(200);

    keyring.retire(oldKid);
    expect(() => keyring.retire(newKid)).toThrow(/signing key/);
    vi.advanceTimersByTime(121_000); // past the verifier's JWKS cache age and its 60 s token cache
    const retired = await request(app).get('/users/u1/profile').set('pipl-consent', stillOld);
    expect(retired.status).toBe(401);
    expect(retired.body.code).toBe('token_invalid');
    expect(
      (
        await request(app)
          .get('/users/u1/profile')
          .set('pipl-consent', await token(keyring))
      ).status,
    ).toBe(200);
  });

  it('survives a restart from exported private keys', async () => {
    const restored = await createConsentKeyring({ alg: 'ES256', keys: await keyring.exportPrivate() });
    expect(restored.jwks()).toEqual(keyring.jwks());
    expect(restored.signer().kid).toBe(keyring.signer().kid);
  });
});

/** The old key's private half, as the consent service would still hold it during the overlap. */
async function createConsentKeyringFrom(keyring: ConsentKeyring, kid: string) {
  const jwk = (await keyring.exportPrivate()).find((k) => k.kid === kid);
  const copy = await createConsentKeyring({ alg: 'ES256', keys: [jwk as never] });
  return copy.signer();
}

describe('pipl.ready() with a jwksUri', () => {
  it('fails at start-up when the key server cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { pipl } = guardFor(`http://127.0.0.1:${port}/jwks.json`);
    await expect(pipl.ready()).rejects.toThrow(/could not be fetched/);
  });

  it('fails at start-up on a 500 and on an empty key set', async () => {
    const failing = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('oops');
    });
    await expect(guardFor(failing).pipl.ready()).rejects.toThrow(/could not be fetched/);
    const empty = await serve((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"keys":[]}');
    });
    await expect(guardFor(empty).pipl.ready()).rejects.toThrow(/holds no keys/);
  });
});

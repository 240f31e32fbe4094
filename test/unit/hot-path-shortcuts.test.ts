import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsentVerifier, isPiplGuardError } from '../../src/index.js';
import { buildApps, MIDDLEWARE_FRAMEWORKS } from '../support/apps.js';
import { AUDIENCE, guardOptions, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';

// The guard's hot path reads headers from `req.rawHeaders` and keys its token cache by the token's
// tail (issue 10). Both are shortcuts an attacker could try to exploit: these are their attempts.

const keys = await makeKeys();
const token = await tokenFor(keys);
const PROFILE = '/users/user-1/profile';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** Sends raw request bytes (header names spelled exactly as given) and returns status and body. */
async function rawRequest(
  app: RequestListener,
  headerLines: string[],
): Promise<{ status: number; body: string }> {
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.write(
      `GET ${PROFILE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headerLines.join('\r\n')}\r\n\r\n`,
    );
  });
  const status = Number(text.slice(9, 12));
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

for (const framework of MIDDLEWARE_FRAMEWORKS) {
  describe(`header reading (${framework})`, () => {
    it('a consent header sent twice under different spellings is refused as token_ambiguous', async () => {
      const apps = buildApps(guardOptions(keys));
      const other = await tokenFor(keys, { consentId: 'other-consent' });
      const res = await rawRequest(apps[framework], [`pipl-consent: ${token}`, `PIPL-Consent: ${other}`]);
      expect(res.status).toBe(400);
      expect(res.body).toContain('token_ambiguous');
      expect(apps.calls[framework]).toBe(0);
    });

    it('a consent header in any spelling is read', async () => {
      const apps = buildApps(guardOptions(keys));
      const res = await rawRequest(apps[framework], [`Pipl-CONSENT: ${token}`]);
      expect(res.status).toBe(200);
      expect(apps.calls[framework]).toBe(1);
    });

    it('a header whose name only has the same length is not read as the consent header', async () => {
      const apps = buildApps(guardOptions(keys));
      const res = await rawRequest(apps[framework], [`pipl-consenx: ${token}`]);
      expect(res.status).toBe(403);
      expect(res.body).toContain('consent_required');
    });
  });
}

describe('verified-token cache key', () => {
  it('a token that shares a cached token’s tail but not its payload is verified, and refused', async () => {
    const verifier = createConsentVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwks: { keys: [keys.publicJwk] },
    });
    const victim = await tokenFor(keys);
    expect((await verifier.verify(victim)).subject).toBe('user-1');
    // The attacker keeps the victim's signature (so the cache key is the same) and swaps the payload.
    const [header, body, signature] = victim.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'attacker' })).toString('base64url');
    const forged = `${header}.${payload}.${signature}`;
    expect(forged.slice(-64)).toBe(victim.slice(-64));
    const refused = await verifier.verify(forged).then(
      () => 'verified',
      (error: unknown) => (isPiplGuardError(error) ? error.code : String(error)),
    );
    expect(refused).toBe('token_invalid');
    // The victim's entry is still served, and still the victim's.
    expect((await verifier.verify(victim)).subject).toBe('user-1');
  });
});

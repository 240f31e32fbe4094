import { createPublicKey } from 'node:crypto';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ConsentVerifierOptions,
  createConsentVerifier,
  type IssueConsentOptions,
  isPiplGuardError,
  issueConsentToken,
  PiplConfigError,
} from '../../src/index.js';

// Every way of handing the verifier a key, and the options that must be refused at start-up.
let privateKey: CryptoKey;
let publicKey: CryptoKey;
let token: string;
const base = { issuer: 'https://consent.test', audience: 'api', algorithms: ['ES256'] } as const;

beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true }));
  token = await sign({
    grants: [{ purpose: 'p', categories: ['contact'], ops: ['use'], consentType: 'general' }],
  });
});

/** A token from this suite's signing key; fields can be overridden. */
function sign(overrides: Partial<IssueConsentOptions> = {}): Promise<string> {
  return issueConsentToken({
    privateKey,
    alg: 'ES256',
    issuer: base.issuer,
    audience: base.audience,
    subject: 'u1',
    notice: { id: 'n', version: 1 },
    grants: [],
    ...overrides,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'verified';
  } catch (error) {
    return isPiplGuardError(error) ? error.code : `unexpected: ${String(error)}`;
  }
}

describe('key inputs', () => {
  it('accepts a CryptoKey, a public JWK, an SPKI PEM and a Node KeyObject', async () => {
    const jwk = await exportJWK(publicKey);
    const pem = await exportSPKI(publicKey);
    for (const key of [publicKey, jwk, pem, createPublicKey(pem)]) {
      const verifier = createConsentVerifier({ ...base, key, cache: false });
      await verifier.ready();
      const consent = await verifier.verify(token);
      expect(consent.subject).toBe('u1');
    }
  });

  it('refuses a private JWK: a verifier never needs the signing key', async () => {
    const verifier = createConsentVerifier({ ...base, key: await exportJWK(privateKey) });
    await expect(verifier.ready()).rejects.toBeInstanceOf(PiplConfigError);
    // A request that arrives anyway fails closed as a key problem, never as a pass.
    expect(await codeOf(verifier.verify(token))).toBe('keys_unavailable');
  });

  it('refuses a PEM with several algorithms, since the algorithm would be a guess', async () => {
    const pem = await exportSPKI(publicKey);
    const verifier = createConsentVerifier({ ...base, algorithms: ['ES256', 'RS256'], key: pem });
    await expect(verifier.ready()).rejects.toThrow(/exactly one algorithm/);
  });
});

describe('options are checked once, at start-up', () => {
  const cases: [string, Partial<ConsentVerifierOptions>, RegExp][] = [
    ['no key source', { key: undefined }, /exactly one of key, jwks or jwksUri/],
    ['two key sources', { jwksUri: 'https://keys.test/jwks.json' }, /exactly one of key, jwks or jwksUri/],
    ['an HMAC algorithm', { algorithms: ['HS256' as never] }, /algorithms may only contain/],
    ['alg none', { algorithms: ['none' as never] }, /algorithms may only contain/],
    ['no algorithms', { algorithms: [] }, /name the accepted algorithms/],
    ['a clock tolerance above 5 minutes', { clockToleranceSec: 3600 }, /clockToleranceSec/],
    ['a token size limit above 64 KiB', { maxTokenBytes: 1 << 20 }, /maxTokenBytes/],
    ['a missing audience', { audience: undefined as never }, /audience/],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, () => {
      expect(() =>
        createConsentVerifier({ ...base, key: publicKey, ...change } as ConsentVerifierOptions),
      ).toThrow(message);
    });
  }
});

describe('maxTokenAgeSec', () => {
  it('refuses a token older than the limit even before it expires', async () => {
    const old = await sign({ now: Math.floor(Date.now() / 1000) - 600, expiresInSec: 3600 });
    const strict = createConsentVerifier({ ...base, key: publicKey, maxTokenAgeSec: 300 });
    expect(await codeOf(strict.verify(old))).toBe('token_expired');
    const lenient = createConsentVerifier({ ...base, key: publicKey, maxTokenAgeSec: 900 });
    expect(await codeOf(lenient.verify(old))).toBe('verified');
  });

  it('a cached token stops being accepted once it is older than the limit', async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = await sign({ now: now - 290, expiresInSec: 3600 });
    const verifier = createConsentVerifier({
      ...base,
      key: publicKey,
      maxTokenAgeSec: 300,
      clockToleranceSec: 0,
    });
    expect(await codeOf(verifier.verify(fresh))).toBe('verified');
    // The cache keeps the token until iat + maxTokenAge at most; 20 s later it is re-verified and refused.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 20_000);
      expect(await codeOf(verifier.verify(fresh))).toBe('token_expired');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('verified-token cache', () => {
  it('re-verifies after ttlSec, so a key dropped from a remote JWKS stops unlocking cached tokens', async () => {
    // A JWKS server whose key set can be changed, as a consent service rotating a compromised key.
    const { createServer } = await import('node:http');
    let jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    const server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(jwks));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const token = await sign({ kid: 'k1', expiresInSec: 3600 });
    const verifier = createConsentVerifier({
      ...base,
      jwksUri: `http://127.0.0.1:${port}/jwks.json`,
      jwksCacheMaxAgeMs: 1000,
      jwksCooldownMs: 0,
      cache: { max: 100, ttlSec: 30 },
    });
    try {
      expect(await codeOf(verifier.verify(token))).toBe('verified');
      jwks = JSON.stringify({ keys: [] });
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 10_000);
      expect(await codeOf(verifier.verify(token))).toBe('verified'); // within the TTL: from the cache
      vi.setSystemTime(Date.now() + 30_000);
      expect(await codeOf(verifier.verify(token))).toBe('token_invalid'); // re-verified: the key is gone
    } finally {
      vi.useRealTimers();
      server.close();
    }
  });
});

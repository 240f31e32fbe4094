import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { PiplConfigError } from '../errors/errors.js';
import type { ConsentAlgorithm } from './verify.js';

interface Entry {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface ConsentKeyringOptions {
  alg: 'ES256' | 'ES384' | 'EdDSA' | 'PS256' | 'RS256';
  /** Private JWKs to start from (each with a `kid`); the last one signs. Default: one new key. */
  keys?: readonly JWK[];
}

/** The consent service's signing keys and the public JWKS it serves. */
export interface ConsentKeyring {
  /** What `issueConsentToken` needs to sign with the current key. */
  signer(): { privateKey: CryptoKey; alg: ConsentAlgorithm; kid: string };
  /** Public keys, current and still-valid ones: the body of `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] };
  /** Publishes a new key without signing with it yet (step 1 of a rotation). Returns its kid. */
  addKey(kid?: string): Promise<string>;
  /** Signs with this published key from now on (step 2). The previous key stays published. */
  useKey(kid: string): void;
  /** Stops publishing a key (step 3, once every token it signed has expired). Not the current one. */
  retire(kid: string): void;
  /** Private JWKs to persist and pass back as `keys` on restart. Keep them secret. */
  exportPrivate(): Promise<JWK[]>;
}

/**
 * Signing keys for a consent service, with rotation: two keys are published at once while tokens
 * signed by the old one are still in circulation, then the old one is retired.
 *
 * Rotation that no verifier notices: `addKey()`, wait at least the verifiers' JWKS cooldown /
 * cache age (pipl-guard: `jwksCooldownMs` 30 s; it refetches on an unknown `kid` after that),
 * `useKey(kid)`, and `retire(oldKid)` once the old key's tokens have expired.
 *
 * @example
 * ```ts
 * const keyring = await createConsentKeyring({ alg: 'ES256' });
 * app.get('/.well-known/jwks.json', jwksHandler(keyring));
 * const token = await issueConsentToken({ ...keyring.signer(), issuer, audience, subject, notice, grants });
 * ```
 */
export async function createConsentKeyring(options: ConsentKeyringOptions): Promise<ConsentKeyring> {
  const alg = options.alg;
  const entries: Entry[] = [];
  let current: Entry | undefined;

  async function generate(kid: string): Promise<Entry> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { kid, privateKey, publicJwk };
  }
  for (const jwk of options.keys ?? []) {
    if (!jwk.kid || !jwk.d)
      throw new PiplConfigError('createConsentKeyring: each key must be a private JWK with a kid');
    const privateKey = (await importJWK(jwk, alg, { extractable: true })) as CryptoKey;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    entries.push({ kid: jwk.kid, privateKey, publicJwk: { ...publicJwk, alg, use: 'sig' } });
  }
  if (entries.length === 0) entries.push(await generate(randomUUID()));
  current = entries[entries.length - 1];

  const find = (kid: string) => entries.find((entry) => entry.kid === kid);

  return {
    signer() {
      const signing = current as Entry;
      return { privateKey: signing.privateKey, alg, kid: signing.kid };
    },
    jwks() {
      return { keys: entries.map((entry) => ({ ...entry.publicJwk })) };
    },
    async addKey(kid = randomUUID()) {
      if (find(kid)) throw new PiplConfigError(`createConsentKeyring: kid "${kid}" is already in use`);
      entries.push(await generate(kid));
      return kid;
    },
    useKey(kid) {
      const entry = find(kid);
      if (!entry) throw new PiplConfigError(`createConsentKeyring: no published key "${kid}"`);
      current = entry;
    },
    retire(kid) {
      if (current?.kid === kid)
        throw new PiplConfigError(
          'createConsentKeyring: cannot retire the signing key; useKey() another first',
        );
      const index = entries.findIndex((entry) => entry.kid === kid);
      if (index >= 0) entries.splice(index, 1);
    },
    async exportPrivate() {
      return Promise.all(
        entries.map(async (entry) => ({ ...(await exportJWK(entry.privateKey)), kid: entry.kid, alg })),
      );
    },
  };
}

/**
 * A Node request listener (usable as Express middleware) that serves the keyring's public JWKS
 * (RFC 7517 §5) with a short `cache-control`, so verifiers see an added key soon.
 *
 * @example
 * ```ts
 * app.get('/.well-known/jwks.json', jwksHandler(keyring));           // Express
 * router.get('/.well-known/jwks.json', (ctx) => { ctx.body = keyring.jwks(); }); // Koa
 * ```
 */
export function jwksHandler(keyring: ConsentKeyring, options: { maxAgeSec?: number } = {}) {
  const maxAge = options.maxAgeSec ?? 60;
  return function servePublicKeys(_req: IncomingMessage, res: ServerResponse): void {
    const body = JSON.stringify(keyring.jwks());
    res.statusCode = 200;
    res.setHeader('content-type', 'application/jwk-set+json');
    res.setHeader('cache-control', `public, max-age=${maxAge}`);
    res.end(body);
  };
}

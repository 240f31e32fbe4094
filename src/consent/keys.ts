import type { KeyObject } from 'node:crypto';
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  importJWK,
  importSPKI,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import type { DenyReason } from '../errors/codes.js';
import { PiplConfigError, PiplGuardError } from '../errors/errors.js';
import type { ConsentVerifierOptions } from './verify.js';

// Where the verifier's keys come from (a remote JWKS, a local set, a PEM or JWK), and what jose's
// verdicts mean for a request.

/**
 * `ready()` with a `jwksUri`: fetch the set now, so an unreachable key server or an empty set fails
 * at start-up instead of answering 503 to the first requests (the README's promise).
 */
export async function loadRemoteKeys(resolved: unknown, jwksUri: string | URL): Promise<void> {
  const remote = resolved as { reload?: () => Promise<void>; jwks?: () => { keys?: unknown[] } | undefined };
  if (typeof remote.reload !== 'function') return;
  try {
    await remote.reload();
  } catch (error) {
    throw new PiplConfigError(
      `Consent keys could not be fetched from ${String(jwksUri)}: ${(error as Error).message}`,
    );
  }
  if ((remote.jwks?.()?.keys?.length ?? 0) === 0) {
    throw new PiplConfigError(`The key set at ${String(jwksUri)} holds no keys`);
  }
}

export function resolveKeys(
  input: ConsentVerifierOptions,
  jwksUri: string | URL | undefined,
  algorithms: string[],
  remote: { timeoutDuration: number; cooldownDuration: number; cacheMaxAge: number },
): Promise<CryptoKey | KeyObject | JWTVerifyGetKey> {
  if (jwksUri !== undefined) return Promise.resolve(remoteKeys(createRemoteJWKSet(new URL(jwksUri), remote)));
  if (input.jwks) return Promise.resolve(createLocalJWKSet(input.jwks));
  const key = input.key;
  if (typeof key === 'string') {
    if (algorithms.length !== 1) {
      return Promise.reject(
        new PiplConfigError('a PEM key needs exactly one algorithm; use a JWK with "alg" otherwise'),
      );
    }
    return importSPKI(key, algorithms[0] as string);
  }
  if (key && typeof key === 'object' && 'kty' in key) {
    const jwk = key as JWK;
    if ('d' in jwk)
      return Promise.reject(new PiplConfigError('the verifier was given a private JWK; give the public key'));
    return importJWK(jwk, jwk.alg ?? algorithms[0]) as Promise<CryptoKey>;
  }
  return Promise.resolve(key as CryptoKey | KeyObject);
}

/** What the remote key set may say about the token itself: the key it names is not there. */
const KEY_SELECTION_VERDICTS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/**
 * Wraps jose's remote key set so that its own failures are reported as outages. jose answers a 5xx,
 * a redirect (it never follows one) or a body that is not JSON with a generic `JOSEError`, which
 * would otherwise read as a bad token (401): the key server failing is a 503, and the client must
 * not be told its valid consent is invalid.
 */
function remoteKeys(remote: ReturnType<typeof createRemoteJWKSet>): JWTVerifyGetKey {
  const remoteConsentKey: JWTVerifyGetKey = async function remoteConsentKey(header, token) {
    try {
      return await remote(header, token);
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (typeof code === 'string' && KEY_SELECTION_VERDICTS.has(code)) throw error;
      throw new PiplGuardError('keys_unavailable', 'Verification keys could not be fetched');
    }
  };
  // `ready()` fetches the set at start-up through these (see loadRemoteKeys).
  return Object.assign(remoteConsentKey, {
    reload: () => remote.reload(),
    jwks: () => remote.jwks(),
  });
}

/** jose error codes → our reason codes. Anything unlisted is `token_invalid`. */
const JOSE_REASONS: Record<string, DenyReason> = {
  ERR_JWT_EXPIRED: 'token_expired',
  ERR_JWS_INVALID: 'token_malformed',
  ERR_JWT_INVALID: 'claims_invalid',
  ERR_JWKS_TIMEOUT: 'keys_unavailable',
  ERR_JWKS_INVALID: 'keys_unavailable',
};

/** A jose error as the refusal it stands for: the token's fault (401) or the key server's (503). */
export function joseToGuardError(error: unknown): PiplGuardError {
  if (error instanceof PiplGuardError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_')) {
    // Not a jose verdict about the token: a network failure fetching the JWKS, for example.
    return new PiplGuardError('keys_unavailable', 'Verification keys could not be fetched');
  }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const { claim, reason } = error as { claim?: string; reason?: string };
    if (reason === 'missing' || reason === 'invalid') {
      return new PiplGuardError(
        'claims_invalid',
        `The "${claim}" claim is ${reason === 'missing' ? 'missing' : 'of the wrong type'}`,
      );
    }
    if (claim === 'nbf' || claim === 'iat')
      return new PiplGuardError('token_not_yet_valid', `The "${claim}" claim is in the future`);
    return new PiplGuardError('token_invalid', `The consent token has the wrong "${claim}"`);
  }
  const reason = JOSE_REASONS[code] ?? 'token_invalid';
  if (reason === 'token_invalid')
    return new PiplGuardError(reason, 'The consent token signature or header was rejected');
  return new PiplGuardError(reason);
}

import type { KeyObject } from 'node:crypto';
import { type CryptoKey, type JSONWebKeySet, type JWK, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';
import { publishTokenCache } from '../diagnostics/channels.js';
import { PiplConfigError, PiplGuardError } from '../errors/errors.js';
import { CONSENT_CLAIM, CONSENT_TOKEN_TYPE, consentClaimsSchema, type VerifiedConsent } from './claims.js';
import { joseToGuardError, loadRemoteKeys, resolveKeys } from './keys.js';

/**
 * Asymmetric algorithms only. With no HMAC algorithm in the list, a token "signed" with the public
 * key as an HS256 secret (key confusion) can never verify.
 */
export const ALLOWED_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;
export type ConsentAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

/** Tokens above this many characters are refused before any parsing (documented default). */
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

export interface ConsentVerifierOptions {
  /** Accepted issuers (`iss`). */
  issuer: string | readonly string[];
  /** This API's audience (`aud`). */
  audience: string | readonly string[];
  /** Explicit algorithm allowlist; the token header never chooses. */
  algorithms: readonly ConsentAlgorithm[];
  /** A single public key: KeyObject, CryptoKey, JWK, or SPKI PEM. */
  key?: KeyObject | CryptoKey | JWK | string;
  /** A local JSON Web Key Set; keys are chosen by `kid`. */
  jwks?: JSONWebKeySet;
  /** A remote JWKS URL, fetched by jose's `createRemoteJWKSet` once and cached. */
  jwksUri?: string | URL;
  /** Remote JWKS fetch timeout in ms (default 2000). */
  jwksTimeoutMs?: number;
  /** Minimum time between remote JWKS refetches in ms (default 30000). */
  jwksCooldownMs?: number;
  /** How long a fetched remote JWKS is trusted in ms (default 600000). */
  jwksCacheMaxAgeMs?: number;
  /** Expected `typ` header (default `pipl-consent+jwt`). */
  typ?: string;
  /** Clock skew allowed for `exp`, `nbf` and `iat`, in seconds (default 5, at most 300). */
  clockToleranceSec?: number;
  /** Reject tokens whose `iat` is older than this many seconds. */
  maxTokenAgeSec?: number;
  /** Refuse tokens longer than this before parsing (default 8192). */
  maxTokenBytes?: number;
  /**
   * Verified tokens are remembered (keyed by the exact token string), so a client that sends the
   * same token again skips the signature check: for `ttlSec` (default 60) or until the token
   * expires, whichever comes first. The TTL bounds how long a key removed from the JWKS is still
   * honoured for tokens already seen. Withdrawal is still looked up on every request. `false` turns
   * the cache off. Default `{ max: 10000, ttlSec: 60 }`.
   */
  cache?: false | { max: number; ttlSec?: number };
}

/** Verifies consent tokens. Build once at start-up with {@link createConsentVerifier}. */
export interface ConsentVerifier {
  /** Resolves the verified consent or rejects with a {@link PiplGuardError}. */
  verify(token: string): Promise<VerifiedConsent>;
  /**
   * The consent of a token this verifier has verified and still holds, returned without waiting;
   * `undefined` when the token has to go through `verify`. Throws what `verify` rejects with for a
   * token it will not look at (too large). Optional: a verifier without it is always asked `verify`.
   */
  cached?(token: string): VerifiedConsent | undefined;
  /** Imports local keys now; rejects with {@link PiplConfigError} if they are unusable. */
  ready(): Promise<void>;
  /**
   * The longest a token is accepted after its `iat`, in seconds (`maxTokenAgeSec` plus the clock
   * tolerance), or undefined when only `exp` bounds it. The guard keeps withdrawals at least this long.
   */
  readonly maxTokenLifetimeSec?: number;
}

const optionsSchema = z
  .strictObject({
    issuer: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'issuer is required' }),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: 'audience is required',
    }),
    algorithms: z
      .array(
        z.enum(ALLOWED_ALGORITHMS, { error: `algorithms may only contain ${ALLOWED_ALGORITHMS.join(', ')}` }),
      )
      .min(1, 'name the accepted algorithms explicitly, e.g. ["ES256"]'),
    key: z.any().optional(),
    jwks: z.object({ keys: z.array(z.any()).min(1) }).optional(),
    jwksUri: z.union([z.string().url(), z.instanceof(URL)]).optional(),
    jwksTimeoutMs: z.number().int().positive().default(2000),
    jwksCooldownMs: z.number().int().nonnegative().default(30_000),
    jwksCacheMaxAgeMs: z.number().int().positive().default(600_000),
    typ: z.string().min(1).default(CONSENT_TOKEN_TYPE),
    clockToleranceSec: z.number().nonnegative().max(300).default(5),
    maxTokenAgeSec: z.number().positive().optional(),
    maxTokenBytes: z.number().int().min(256).max(65_536).default(DEFAULT_MAX_TOKEN_BYTES),
    cache: z
      .union([
        z.literal(false),
        z.strictObject({
          max: z.number().int().positive(),
          ttlSec: z.number().positive().max(3600).default(60),
        }),
      ])
      .default({ max: 10_000, ttlSec: 60 }),
  })
  .refine((o) => [o.key, o.jwks, o.jwksUri].filter((k) => k !== undefined).length === 1, {
    message: 'give exactly one of key, jwks or jwksUri',
  });

/** Three base64url segments; the signature may be empty only so that `alg: none` gets its own answer. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The verifier cache's key: the last 64 characters of the token, which fall in its signature. A
 * fresh header string is hashed on every Map lookup, and hashing the whole token (about 550
 * characters for a small consent) cost more than the rest of a cache hit; the entry then holds the
 * whole token, compared with `===`.
 */
function cacheKey(token: string): string {
  return token.length > 64 ? token.slice(-64) : token;
}

/**
 * Builds a consent-token verifier. Options are validated here, once; the remote JWKS client is
 * created once and shared by every request.
 *
 * @example
 * ```ts
 * const verifier = createConsentVerifier({
 *   issuer: 'https://consent.example.cn',
 *   audience: 'orders-api',
 *   algorithms: ['ES256'],
 *   jwksUri: 'https://consent.example.cn/.well-known/jwks.json',
 * });
 * ```
 */
export function createConsentVerifier(input: ConsentVerifierOptions): ConsentVerifier {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `  - ${issue.path.join('.') || 'options'}: ${issue.message}`,
    );
    throw new PiplConfigError(`Invalid consent verifier options:\n${issues.join('\n')}`);
  }
  const options = parsed.data;
  const algorithms = [...options.algorithms];
  const tolerance = options.clockToleranceSec;
  const verifyOptions = {
    algorithms,
    issuer: typeof options.issuer === 'string' ? options.issuer : [...options.issuer],
    audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
    typ: options.typ,
    clockTolerance: tolerance,
    requiredClaims: ['iat', 'exp', 'sub', 'jti'],
    ...(options.maxTokenAgeSec === undefined ? {} : { maxTokenAge: options.maxTokenAgeSec }),
  };

  const keyResolver = resolveKeys(input, options.jwksUri, algorithms, {
    timeoutDuration: options.jwksTimeoutMs,
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs,
  });
  // Import eagerly; a bad key is reported by ready() and, if never awaited, by the first request (503).
  keyResolver.catch(() => {});

  const cache =
    options.cache === false
      ? undefined
      : new Map<string, { token: string; consent: VerifiedConsent; until: number }>();
  const cacheMax = options.cache === false ? 0 : options.cache.max;
  const cacheTtl = options.cache === false ? 0 : options.cache.ttlSec;

  function refuseTooLarge(token: string): void {
    if (token.length > options.maxTokenBytes) {
      throw new PiplGuardError(
        'token_too_large',
        `Consent tokens are limited to ${options.maxTokenBytes} characters`,
      );
    }
  }

  /** The consent verified for exactly this token, while its cache time lasts (an expired entry is dropped). */
  function held(token: string, nowSec: number): VerifiedConsent | undefined {
    if (!cache) return undefined;
    const tail = cacheKey(token);
    const stored = cache.get(tail);
    // The key is only the tail: an entry counts for the exact token it was verified for.
    if (stored?.token !== token) return undefined;
    if (nowSec <= stored.until) return stored.consent;
    cache.delete(tail);
    return undefined;
  }

  /**
   * A cache hit without a promise: the guard's common case runs with no `await` at all. A miss is
   * left to `verify`, which counts it (`pipl-guard:token-cache`), so each look-up is counted once.
   */
  function cachedConsent(token: string): VerifiedConsent | undefined {
    refuseTooLarge(token);
    const consent = held(token, Date.now() / 1000);
    if (consent !== undefined) publishTokenCache(true);
    return consent;
  }

  async function verifyConsentToken(token: string): Promise<VerifiedConsent> {
    refuseTooLarge(token);
    const nowSec = Date.now() / 1000;
    const tail = cacheKey(token);
    if (cache) {
      const consent = held(token, nowSec);
      publishTokenCache(consent !== undefined);
      if (consent !== undefined) return consent;
    }
    if (!COMPACT_JWS.test(token)) {
      throw new PiplGuardError(
        'token_malformed',
        'The consent token is not a compact JWS (header.payload.signature)',
      );
    }
    let key: CryptoKey | KeyObject | JWTVerifyGetKey;
    try {
      key = await keyResolver;
    } catch {
      throw new PiplGuardError('keys_unavailable', 'The configured verification key could not be loaded');
    }

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key as CryptoKey, verifyOptions));
    } catch (error) {
      throw joseToGuardError(error);
    }
    // jose only checks a future `iat` when maxTokenAge is set; a token from the future is never valid.
    if (typeof payload.iat === 'number' && payload.iat > nowSec + tolerance) {
      throw new PiplGuardError('token_not_yet_valid', 'The consent token was issued in the future');
    }
    const claims = consentClaimsSchema.safeParse(payload);
    if (!claims.success) {
      const fields = [...new Set(claims.error.issues.map((issue) => issue.path.join('.')))].slice(0, 5);
      throw new PiplGuardError('claims_invalid', `Consent claims failed validation at: ${fields.join(', ')}`);
    }
    const consent = toVerifiedConsent(claims.data);
    if (cache) {
      let until = Math.min(consent.expiresAt + tolerance, nowSec + cacheTtl);
      if (options.maxTokenAgeSec !== undefined)
        until = Math.min(until, consent.issuedAt + options.maxTokenAgeSec + tolerance);
      if (cache.size >= cacheMax && !cache.has(tail)) cache.delete(cache.keys().next().value as string);
      cache.set(tail, { token, consent, until });
    }
    return consent;
  }

  return {
    verify: verifyConsentToken,
    cached: cachedConsent,
    ...(options.maxTokenAgeSec === undefined
      ? {}
      : { maxTokenLifetimeSec: options.maxTokenAgeSec + tolerance }),
    async ready() {
      let resolved: Awaited<typeof keyResolver>;
      try {
        resolved = await keyResolver;
      } catch (error) {
        throw new PiplConfigError(`Consent verifier key could not be imported: ${(error as Error).message}`);
      }
      if (options.jwksUri !== undefined) await loadRemoteKeys(resolved, options.jwksUri);
    },
  };
}

function toVerifiedConsent(claims: z.infer<typeof consentClaimsSchema>): VerifiedConsent {
  const consent = claims[CONSENT_CLAIM];
  return {
    id: claims.jti,
    subject: claims.sub,
    issuer: claims.iss,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    notice: consent.notice,
    ageBand: consent.subject.ageBand,
    guardian: consent.subject.guardian,
    personalization: consent.prefs?.personalization ?? true,
    grants: consent.grants,
  };
}

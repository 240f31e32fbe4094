/**
 * What the benchmark parent (`guard-vs-bare.ts`) and the server child (`server.ts`) agree on:
 * the policy, issuer/audience, the route paths and the list of scenarios.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { IssueConsentOptions } from '../src/consent/issue.js';
import { type ConsentVerifierOptions, definePolicy, issueConsentToken } from '../src/index.js';

export const ISSUER = 'https://consent.bench';
export const AUDIENCE = 'pipl-guard-bench';
/** HMAC key that pseudonymises subject ids in the audit log (≥ 32 bytes). Not a secret: bench only. */
export const AUDIT_KEY = 'bench-audit-key-0123456789abcdef-0123456789';
export const NOTICE = { id: 'bench-notice', version: 1 } as const;
export const SUBJECT = 'user-1';

export const policy = definePolicy({
  notice: NOTICE,
  purposes: {
    // Consent basis, non-sensitive categories: the audit record is queued, not fsync'ed, before the handler.
    'account.profile': {
      basis: 'consent',
      categories: ['identity_basic', 'contact'],
      operations: ['use'],
      necessaryForService: true,
    },
    // Sensitive PI (Art. 28): separate consent, and the guard waits for the batch's fdatasync.
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-BENCH-1',
    },
  },
});

/**
 * How every benchmark's guard verifies consent tokens: the bench issuer and audience, ES256, its
 * public key as a local JWKS; the verifier cache on (the default) unless `cache` is false.
 */
export function benchConsent(jwk: JWK, cache: boolean): ConsentVerifierOptions {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    jwks: { keys: [jwk] },
    ...(cache ? {} : { cache: false as const }),
  };
}

/** The consent every bench token carries for the profile route (the memory bench's tokens too). */
export const PROFILE_GRANT = {
  purpose: 'account.profile',
  categories: ['identity_basic', 'contact'],
  ops: ['use'],
  consentType: 'general',
} as const satisfies IssueConsentOptions['grants'][number];

/**
 * A fresh ES256 key pair for the bench issuer, its public JWK, and the one consent token every
 * benchmark request carries (both purposes granted, valid for an hour).
 */
export async function benchCredentials(): Promise<{ publicKey: CryptoKey; jwk: JWK; token: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'bench-key-1', alg: 'ES256', use: 'sig' };
  const token = await issueConsentToken({
    privateKey,
    alg: 'ES256',
    kid: 'bench-key-1',
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: SUBJECT,
    notice: NOTICE,
    expiresInSec: 3600,
    grants: [
      PROFILE_GRANT,
      { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'separate' },
    ],
  });
  return { publicKey, jwk, token };
}

export type Framework = 'express' | 'koa';

/** Token checkers of other packages (and a bare `jose.jwtVerify`) run on the same routes and tokens. */
export type Peer = 'jose' | 'auth0' | 'express-jwt' | 'koa-jwt';

export interface Scenario {
  framework: Framework;
  /** `null` for a bare route (no guard, no audit). */
  guard: null | { purpose: 'account.profile' | 'health.records'; verifierCache: boolean };
  /** A peer's middleware in front of the handler instead of the guard (no audit). */
  peer?: Peer;
  /** URL path requested by autocannon. */
  path: string;
  /** Bare scenario of the same framework the ratio is computed against. */
  baseline: string;
  description: string;
}

export const PROFILE_PATH = `/users/${SUBJECT}/profile`;
export const HEALTH_PATH = `/users/${SUBJECT}/health`;

/** Run order: each guarded run follows its bare baseline, so both see the same machine state. */
export const SCENARIOS = {
  'express-bare': {
    framework: 'express',
    guard: null,
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description: 'Express 5 route returning a small JSON body, no guard',
  },
  'express-guarded': {
    framework: 'express',
    guard: { purpose: 'account.profile', verifierCache: true },
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description:
      'Same route behind expressGuard: verifier cache hit, buffered file audit, decision + outcome records',
  },
  'express-sensitive': {
    framework: 'express',
    guard: { purpose: 'health.records', verifierCache: true },
    path: HEALTH_PATH,
    baseline: 'express-bare',
    description: 'Sensitive-category purpose: durable audit, handler waits for the batch fdatasync',
  },
  'express-nocache': {
    framework: 'express',
    guard: { purpose: 'account.profile', verifierCache: false },
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description: 'express-guarded with consent.cache: false: full ES256 signature check on every request',
  },
  'express-jose': {
    framework: 'express',
    guard: null,
    peer: 'jose',
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description: 'Reference: a bare jose.jwtVerify (ES256, iss/aud) of the same token per request, no audit',
  },
  'express-auth0': {
    framework: 'express',
    guard: null,
    peer: 'auth0',
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description:
      "auth0's express-oauth2-jwt-bearer auth() (publicKey, ES256, iss/aud), Authorization: Bearer",
  },
  'express-jwt': {
    framework: 'express',
    guard: null,
    peer: 'express-jwt',
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description: 'express-jwt expressjwt() (PEM public key, ES256, iss/aud), Authorization: Bearer',
  },
  'koa-bare': {
    framework: 'koa',
    guard: null,
    path: PROFILE_PATH,
    baseline: 'koa-bare',
    description: 'Koa 3 + @koa/router route returning a small JSON body, no guard',
  },
  'koa-guarded': {
    framework: 'koa',
    guard: { purpose: 'account.profile', verifierCache: true },
    path: PROFILE_PATH,
    baseline: 'koa-bare',
    description:
      'Same route behind koaGuard: verifier cache hit, buffered file audit, decision + outcome records',
  },
  'koa-jwt': {
    framework: 'koa',
    guard: null,
    peer: 'koa-jwt',
    path: PROFILE_PATH,
    baseline: 'koa-bare',
    description: 'koa-jwt (PEM public key, ES256, iss/aud), Authorization: Bearer',
  },
} as const satisfies Record<string, Scenario>;

/**
 * Target comparisons of issue 10, all from one run: `faster` req/s ÷ `than` req/s must reach `atLeast`.
 */
export const PEER_TARGETS = [
  { faster: 'express-guarded', than: 'express-auth0', bare: 'express-bare', atLeast: 1.6 },
  { faster: 'express-guarded', than: 'express-jwt', bare: 'express-bare', atLeast: 4 },
  { faster: 'koa-guarded', than: 'koa-jwt', bare: 'koa-bare', atLeast: 8 },
] as const;

/**
 * The most a guard could score against a peer in this run: the bare route's req/s ÷ the peer's, round
 * by round, median over rounds (the same pairing as the target's own value). A guard that cost nothing
 * would be as fast as the bare route, so a limit above this ceiling cannot be met by any guard on this
 * machine and framework: the peer is not slow enough for it. `null` when no round measured both.
 */
export function peerCeiling(
  bareRounds: readonly { reqPerSec: number }[],
  peerRounds: readonly { reqPerSec: number }[],
): number | null {
  const ratios: number[] = [];
  bareRounds.forEach((bare, i) => {
    const peer = peerRounds[i];
    if (peer !== undefined && peer.reqPerSec > 0) ratios.push(bare.reqPerSec / peer.reqPerSec);
  });
  if (ratios.length === 0) return null;
  ratios.sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return ratios.length % 2 === 1
    ? (ratios[mid] as number)
    : ((ratios[mid - 1] as number) + (ratios[mid] as number)) / 2;
}

export type ScenarioName = keyof typeof SCENARIOS;

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

/** The body every route (bare or guarded) answers with, so response sizes match. */
export function responseBody(id: string | undefined) {
  return { id, ok: true };
}

/** Lines the server prints on stdout, one JSON object each. */
export type ServerMessage =
  | { type: 'ready'; port: number; pid: number }
  | { type: 'cpu'; userUs: number; systemUs: number }
  | { type: 'stopped'; pid: number }
  | { type: 'error'; message: string };

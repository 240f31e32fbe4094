/**
 * What the benchmark parent (`guard-vs-bare.ts`) and the server child (`server.ts`) agree on:
 * the policy, issuer/audience, the route paths and the list of scenarios.
 */
import { definePolicy } from '../src/index.js';

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

export type Framework = 'express' | 'koa';

export interface Scenario {
  framework: Framework;
  /** `null` for a bare route (no guard, no audit). */
  guard: null | { purpose: 'account.profile' | 'health.records'; verifierCache: boolean };
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
    description: 'Same route behind expressGuard: ES256 token (verifier cache on), file audit (not durable)',
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
    description: 'Same route behind koaGuard: ES256 token (verifier cache on), file audit (not durable)',
  },
  'express-nocache': {
    framework: 'express',
    guard: { purpose: 'account.profile', verifierCache: false },
    path: PROFILE_PATH,
    baseline: 'express-bare',
    description: 'express-guarded with consent.cache: false: full ES256 signature check on every request',
  },
  'express-sensitive': {
    framework: 'express',
    guard: { purpose: 'health.records', verifierCache: true },
    path: HEALTH_PATH,
    baseline: 'express-bare',
    description: 'Sensitive-category purpose: durable audit, handler waits for the batch fdatasync',
  },
} as const satisfies Record<string, Scenario>;

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

import { createHmac, KeyObject, sign } from 'node:crypto';
import { CompactSign, type CryptoKey } from 'jose';
import { CONSENT_CLAIM, CONSENT_TOKEN_TYPE } from '../../src/index.js';
import { AUDIENCE, ISSUER } from './fixture.js';

/** Hand-made tokens for the attack corpus: what jose's SignJWT would refuse to produce. */

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export const nowSec = () => Math.floor(Date.now() / 1000);

/** The protected header a trusted consent service uses. */
export const HEADER = { alg: 'ES256', typ: CONSENT_TOKEN_TYPE, kid: 'test-key-1' } as const;

/** A claims set the guard accepts for `account.profile` on user-1; override any top-level claim. */
export function claims(overrides: Record<string, unknown> = {}, consent: Record<string, unknown> = {}) {
  const now = nowSec();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    jti: `forged-${Math.random().toString(36).slice(2)}`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    [CONSENT_CLAIM]: {
      v: 1,
      notice: { id: 'test-notice', version: 2 },
      subject: { ageBand: 'adult' },
      grants: [
        {
          purpose: 'account.profile',
          categories: ['identity_basic', 'contact', 'loyalty_points'],
          ops: ['use', 'store'],
          consentType: 'general',
          givenAt: now,
        },
      ],
      ...consent,
    },
    ...overrides,
  };
}

/** A base64url segment padded with 'A's to a length of 1 mod 4, which no byte string encodes to. */
export function invalidLength(segment: string): string {
  return segment + 'A'.repeat((5 - (segment.length % 4)) % 4 || 4);
}

/** `header.payload.signature` from parts, with no signing at all. */
export function unsigned(header: unknown, payload: unknown, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`;
}

/** Signs any payload bytes with jose's CompactSign (which checks nothing about the payload). */
export function compactSign(
  privateKey: CryptoKey,
  payload: string | unknown,
  header: Record<string, unknown> = HEADER,
  crit?: Record<string, boolean>,
): Promise<string> {
  const bytes = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return new CompactSign(bytes)
    .setProtectedHeader(header as { alg: string })
    .sign(privateKey, crit ? { crit } : undefined);
}

/** ES256 over raw, already-encoded segments: lets a segment be invalid while the signature is valid. */
export function es256Raw(privateKey: CryptoKey, encodedHeader: string, encodedPayload: string): string {
  const input = `${encodedHeader}.${encodedPayload}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: KeyObject.from(privateKey),
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${signature.toString('base64url')}`;
}

/** HS256 with an attacker-chosen secret (key confusion: the public key as the HMAC secret). */
export function hs256(secret: string, payload: unknown, header: Record<string, unknown> = HEADER): string {
  const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

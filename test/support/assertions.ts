import type { RequestListener } from 'node:http';
import request, { type Response } from 'supertest';
import { expect } from 'vitest';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { type AuditRecord, REASONS, type ReasonCode } from '../../src/index.js';
import { AUDIT_KEY } from './fixture.js';

export const pseudonym = createPseudonymizer(AUDIT_KEY);

export interface Send {
  method?: 'get' | 'post';
  path: string;
  /** Sent in the `pipl-consent` header. */
  token?: string;
  headers?: Record<string, string | string[]>;
}

/** Sends one request to a Node request listener (an Express app or `koa.callback()`). */
export function send(app: RequestListener, { method = 'get', path, token, headers = {} }: Send) {
  let test = request(app)[method](path);
  if (token !== undefined) test = test.set('pipl-consent', token);
  for (const [name, value] of Object.entries(headers)) test = test.set(name, value as string);
  return test;
}

/** A denial rendered by the guard (or by the library's problem handlers) as RFC 9457 problem+json. */
export function expectProblem(res: Response, code: ReasonCode, scheme = 'PIPL-Consent') {
  const status = REASONS[code].status;
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toMatchObject({
    type: `https://pipl-guard.dev/problems/${code}`,
    title: REASONS[code].title,
    status,
    code,
  });
  expectDenialHeaders(res, code, scheme);
}

/** Status-specific headers every denial carries, whoever renders it. */
export function expectDenialHeaders(res: Response, code: ReasonCode, scheme = 'PIPL-Consent') {
  const status = REASONS[code].status;
  const challenge = res.headers['www-authenticate'];
  if (status === 401) {
    expect(challenge).toBe(
      `${scheme} realm="pipl-guard", error="invalid_token", error_description="${code}"`,
    );
  } else if (code === 'token_ambiguous') {
    expect(challenge).toBe(`${scheme} realm="pipl-guard", error="invalid_request"`);
  } else {
    expect(challenge).toBeUndefined();
  }
  if (status === 503) expect(res.headers['retry-after']).toMatch(/^\d+$/);
  else expect(res.headers['retry-after']).toBeUndefined();
}

export interface AuditExpectation {
  decision: 'allow' | 'deny' | 'degrade';
  reason: ReasonCode;
  /** Raw subject id the record must name (pseudonymised), or null. */
  subject: string | null;
  basis?: string;
  cause?: ReasonCode;
  consentId?: string | null;
}

/** Exactly one decision record, with the right verdict, a pseudonymised subject and no secrets. */
export function expectOneAudit(
  records: readonly unknown[],
  expected: AuditExpectation,
  secrets: readonly string[] = [],
) {
  const decisions = (records as readonly AuditRecord[]).filter((record) => record.type === 'decision');
  expect(decisions).toHaveLength(1);
  const record = decisions[0] as Extract<AuditRecord, { type: 'decision' }>;
  expect(record.decision).toBe(expected.decision);
  expect(record.reason).toBe(expected.reason);
  expect(record.status).toBe(REASONS[expected.reason].status);
  if (expected.basis) expect(record.basis).toBe(expected.basis);
  if (expected.cause) expect(record.cause).toBe(expected.cause);
  if (expected.consentId !== undefined) expect(record.consent?.id ?? null).toBe(expected.consentId);
  const json = JSON.stringify(record);
  if (expected.subject === null) {
    expect(record.subject).toBeNull();
  } else {
    expect(record.subject).toMatch(/^hmac-sha256:/);
    expect(record.subject).toBe(pseudonym(expected.subject));
    expect(json).not.toContain(expected.subject);
  }
  for (const secret of secrets) expect(json).not.toContain(secret);
  return record;
}

/** A response never leaks the token, a signature or a stack trace, and is never a 500. */
export function expectNoLeak(res: Response, token: string) {
  expect(res.status).not.toBe(500);
  const text = res.text ?? '';
  if (token.length >= 8) expect(text).not.toContain(token);
  for (const part of token.split('.')) if (part.length >= 16) expect(text).not.toContain(part);
  expect(text).not.toMatch(/\n\s+at\s/);
  expect(text).not.toMatch(/node_modules|\.ts:\d+|\.js:\d+/);
}

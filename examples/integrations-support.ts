// Shared by the decorator and framework examples: a small policy, a guard whose consent service
// is simulated in-process, and a driver that sends the same three requests to any app.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair } from 'jose';
import { createPiplGuard, definePolicy, issueConsentToken, memoryAuditSink } from 'pipl-guard';

export const policy = definePolicy({
  notice: { id: 'clinic-privacy', version: 1 },
  purposes: {
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-2026-011', // sensitive PI (Art. 28): separate consent + impact assessment
    },
  },
});

const ISSUER = 'https://consent.example.cn';
const AUDIENCE = 'clinic-api';

/** A guard with an in-memory audit sink, and a way to issue tokens as the consent service would. */
export async function exampleGuard() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const audit = memoryAuditSink();
  const pipl = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], key: publicKey },
    audit: { sink: audit, subjectKey: 'example-audit-key-0123456789abcdef0123456789' },
  });
  const token = (subject: string) =>
    issueConsentToken({
      privateKey,
      alg: 'ES256',
      issuer: ISSUER,
      audience: AUDIENCE,
      subject,
      notice: { id: 'clinic-privacy', version: 1 },
      grants: [
        { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'separate' },
      ],
    });
  return { pipl, audit, token };
}

/**
 * Sends the same three requests to `GET /users/:id/records` and prints one line each; exits 1 when
 * an answer is not the expected one.
 */
export async function drive(
  name: string,
  server: Server,
  token: (subject: string) => Promise<string>,
  auditRoutes: () => readonly unknown[],
): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cases = [
    {
      label: 'no consent token',
      path: '/users/u42/records',
      token: undefined,
      expect: [403, 'consent_required'],
    },
    {
      label: "another subject's token",
      path: '/users/u42/records',
      token: 'u7',
      expect: [403, 'subject_mismatch'],
    },
    {
      label: 'separate consent for u42',
      path: '/users/u42/records',
      token: 'u42',
      expect: [200, 'consent_valid'],
    },
  ] as const;
  let failed = false;
  for (const c of cases) {
    const headers: Record<string, string> = c.token ? { 'pipl-consent': await token(c.token) } : {};
    const res = await fetch(base + c.path, { headers });
    const body = (await res.json()) as { code?: string; reason?: string };
    const got = [res.status, body.code ?? body.reason];
    const ok = got[0] === c.expect[0] && got[1] === c.expect[1];
    failed ||= !ok;
    console.log(`${ok ? '✓' : '✗'} ${name}  ${c.label}: ${got.join(' ')}`);
  }
  const routes = [...new Set(auditRoutes())];
  const routeOk = routes.length === 1 && routes[0] === '/users/:id/records';
  failed ||= !routeOk;
  console.log(`${routeOk ? '✓' : '✗'} ${name}  audit records name the route pattern: ${routes.join(', ')}`);
  await new Promise((resolve) => server.close(resolve));
  if (failed) process.exitCode = 1;
  else console.log('All expectations met.');
}

/** The `route` field of every decision record in a memory sink. */
export function decisionRoutes(records: readonly unknown[]): unknown[] {
  return (records as { type: string; route?: string }[])
    .filter((r) => r.type === 'decision')
    .map((r) => r.route);
}

import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative, resolve } from 'node:path';
import { generateKeyPair } from 'jose';
import { verifyAuditLog } from '../src/audit/verify.js';
import type { IssueConsentOptions } from '../src/index.js';
import { createApp as createExpressApp } from './express-app.js';
import { createApp as createKoaApp } from './koa-app.js';
import { DELIVERY_PARTNER, NOTICE } from './policy.js';
import { DEMO_DIR, type ExampleAppOptions, issueShopToken, type ShopGuard } from './shared.js';

type GrantInput = IssueConsentOptions['grants'][number];
type ConsentType = GrantInput['consentType'];

interface Step {
  method: 'GET' | 'POST';
  path: string;
  /** What the client sends, in a few words. */
  sends: string;
  token?: string | undefined;
  expect: { status: number; code: string };
  /** Fields the response body must have: shows the handler honoured a degraded decision. */
  body?: Record<string, unknown>;
  before?: (pipl: ShopGuard) => Promise<void>;
}

const runDir = resolve(DEMO_DIR, 'demo');
const show = (path: string) => relative(process.cwd(), path);

const marketing: GrantInput = {
  purpose: 'marketing.personalized',
  categories: ['behavior'],
  ops: ['use'],
  consentType: 'general',
};
const health = (consentType: ConsentType): GrantInput => ({
  purpose: 'health.prescriptions',
  categories: ['medical_health', 'identity_basic'],
  ops: ['use'],
  consentType,
});
const delivery = (recipient: string): GrantInput => ({
  purpose: 'delivery.partner',
  categories: ['identity_basic', 'contact'],
  ops: ['provide'],
  consentType: 'separate',
  recipients: [{ name: recipient, role: 'handler' }],
});
const kids = (consentType: ConsentType): GrantInput => ({
  purpose: 'kids.learning_profile',
  categories: ['child_learning', 'identity_basic'],
  ops: ['use'],
  consentType,
});

/** Re-signs nothing: edits the payload of a real token, as an attacker upgrading their consent would. */
function forge(token: string, edit: (payload: string) => string): string {
  const [header, payload, signature] = token.split('.');
  const json = Buffer.from(payload ?? '', 'base64url').toString();
  return [header, Buffer.from(edit(json)).toString('base64url'), signature].join('.');
}

async function scenario(): Promise<{ steps: Step[]; publicKey: ExampleAppOptions['publicKey'] }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const issue = (subject: string, grants: GrantInput[], extra: Partial<IssueConsentOptions> = {}) =>
    issueShopToken(privateKey, { subject, grants, ...extra });
  const withdrawnId = 'consent-u1001-0042';
  const child = { ageBand: 'under14', guardian: { id: 'g-parent-77', method: 'electronic' } } as const;
  const t = {
    marketing: await issue('u1001', [marketing]),
    optOut: await issue('u1001', [marketing], { personalization: false }),
    healthGeneral: await issue('u1001', [health('general')]),
    healthSeparate: await issue('u1001', [health('separate')]),
    partner: await issue('u1001', [delivery(DELIVERY_PARTNER)]),
    otherPartner: await issue('u1001', [delivery('JD Logistics')]),
    childAlone: await issue('c2002', [kids('separate')], { ageBand: child.ageBand }),
    childGuardian: await issue('c2002', [kids('guardian')], child),
    oldNotice: await issue('u1001', [health('separate')], {
      notice: { ...NOTICE, version: NOTICE.version - 1 },
    }),
    withdrawn: await issue('u1001', [health('separate')], { consentId: withdrawnId }),
  };
  const forged = forge(t.healthGeneral, (json) => json.replace('"general"', '"separate"'));

  const step = (route: string, sends: string, expect: string, token?: string, extra: Partial<Step> = {}) => {
    const [method, path] = route.split(' ') as [Step['method'], string];
    const [status, code] = expect.split(' ') as [string, string];
    return { method, path, sends, token, expect: { status: Number(status), code }, ...extra } satisfies Step;
  };
  const recs = 'GET /users/u1001/recommendations';
  const rx = 'GET /users/u1001/prescriptions';
  const steps: Step[] = [
    step('GET /users/u1001/orders', 'no token (contract)', '200 lawful_basis'),
    step(recs, 'marketing consent', '200 consent_valid', t.marketing, { body: { personalised: true } }),
    step(recs, 'personalisation off', '200 degraded_personalization_opt_out', t.optOut, {
      body: { personalised: false },
    }),
    step(recs, 'no token', '200 degraded_no_consent', undefined, { body: { personalised: false } }),
    step(rx, 'general consent', '403 sensitive_separate_consent_required', t.healthGeneral),
    step(rx, 'separate consent', '200 consent_valid', t.healthSeparate),
    step('POST /users/u1001/shipments', `names ${DELIVERY_PARTNER}`, '201 consent_valid', t.partner),
    step('POST /users/u1001/shipments', 'names JD Logistics', '403 recipient_not_granted', t.otherPartner),
    step(
      'GET /users/c2002/learning-profile',
      'child, no guardian',
      '403 guardian_consent_required',
      t.childAlone,
    ),
    step('GET /users/c2002/learning-profile', 'child, guardian', '200 consent_valid', t.childGuardian),
    step('GET /users/u2002/prescriptions', "u1001's token", '403 subject_mismatch', t.healthSeparate),
    step(rx, `notice v${NOTICE.version - 1}`, '403 reconsent_required', t.oldNotice),
    // Art. 15: withdrawal takes effect at once, for a token that is otherwise still valid.
    step(rx, 'withdrawn consent', '403 consent_withdrawn', t.withdrawn, {
      before: (pipl) => pipl.withdraw(withdrawnId),
    }),
    step(rx, 'forged general→separate', '401 token_invalid', forged),
  ];
  return { steps, publicKey };
}

async function serve(listener: RequestListener) {
  const server = createServer(listener);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return { base: `http://127.0.0.1:${port}`, close };
}

async function run(name: string, base: string, pipl: ShopGuard, steps: Step[]): Promise<number> {
  let failures = 0;
  for (const step of steps) {
    await step.before?.(pipl);
    const response = await fetch(base + step.path, {
      method: step.method,
      headers: step.token ? { 'pipl-consent': step.token } : {},
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const code = String(body.code ?? body.decision);
    const bodyOk = Object.entries(step.body ?? {}).every(([key, value]) => body[key] === value);
    const ok = response.status === step.expect.status && code === step.expect.code && bodyOk;
    if (!ok) failures++;
    const expected = `${step.expect.status} ${step.expect.code}`;
    const actual = `${response.status} ${code}${bodyOk ? '' : ' (body?)'}`;
    console.log(
      `${ok ? '✓' : '✗'} ${name.padEnd(7)} ${step.method.padEnd(4)} ${step.path.padEnd(30)} ` +
        `${step.sends.padEnd(26)} ${expected.padEnd(36)} ${actual}`,
    );
  }
  return failures;
}

async function verify(name: string, path: string): Promise<boolean> {
  const result = await verifyAuditLog(path);
  const hash = result.lastHash ? `${result.lastHash.slice(0, 12)}…` : '-';
  console.log(
    `${result.valid ? '✓' : '✗'} ${name.padEnd(7)} ${show(path).padEnd(30)} ${String(result.records).padStart(3)} records` +
      `  valid=${result.valid}  last hash ${hash}${result.problem ? `  ${result.problem.message}` : ''}`,
  );
  return result.valid;
}

/** Rewrites one byte of a copy of the log (a 403 becomes a 203) and shows the verifier catching it. */
async function tamper(path: string): Promise<boolean> {
  const copy = path.replace(/\.jsonl$/, '-tampered.jsonl');
  await copyFile(path, copy);
  const bytes = await readFile(copy);
  const found = bytes.indexOf('"status":403');
  if (found < 0) return false;
  const at = found + '"status":'.length;
  bytes[at] = '2'.charCodeAt(0);
  await writeFile(copy, bytes);
  const line = bytes.subarray(0, at).toString().split('\n').length;
  const result = await verifyAuditLog(copy);
  console.log(`  tamper  ${show(copy)}: changed "status":403 to 203 on line ${line}`);
  console.log(
    `${result.valid ? '✗' : '✓'} verify  ${result.valid ? 'valid=true: tampering NOT detected' : `${result.problem?.kind}: ${result.problem?.message}`}`,
  );
  return !result.valid;
}

async function main(): Promise<number> {
  // Each run starts from an empty run directory, so reruns neither fail nor pile up logs.
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const { steps, publicKey } = await scenario();
  const auditKey = 'demo-audit-key-not-for-production-0123456789';
  const options = (name: string): ExampleAppOptions => ({
    publicKey,
    auditKey,
    auditPath: resolve(runDir, `${name}.jsonl`),
    chain: `shop-${name}`,
  });

  const express = createExpressApp(options('express'));
  const koa = createKoaApp(options('koa'));
  await Promise.all([express.pipl.ready(), koa.pipl.ready()]);
  const apps = [
    { name: 'express', pipl: express.pipl, server: await serve(express.app) },
    { name: 'koa', pipl: koa.pipl, server: await serve(koa.app.callback()) },
  ];

  console.log(`pipl-guard demo: ${steps.length} requests against Express and Koa (dev ES256 key)\n`);
  console.log(
    `  ${'app'.padEnd(7)} ${'req'.padEnd(4)} ${'path'.padEnd(30)} ${'client sends'.padEnd(26)} ${'expected'.padEnd(36)} actual`,
  );
  let failures = 0;
  for (const app of apps) failures += await run(app.name, app.server.base, app.pipl, steps);

  // Closing flushes the queue and seals the chain with a writer_stop record.
  for (const app of apps) {
    await app.server.close();
    await app.pipl.close();
  }
  console.log('\nAudit logs (hash-chained JSON lines):');
  for (const app of apps) if (!(await verify(app.name, options(app.name).auditPath))) failures++;
  if (!(await tamper(options('express').auditPath))) failures++;

  console.log(failures === 0 ? '\nAll expectations met.' : `\n${failures} expectation(s) failed.`);
  console.log(
    `Inspect the logs as an auditor would:\n  npm run pipl-guard -- audit verify ${options('express').auditPath}\n` +
      `  npm run pipl-guard -- audit query ${options('express').auditPath} --decision deny\n` +
      `  npm run pipl-guard -- audit stats ${options('koa').auditPath}`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();

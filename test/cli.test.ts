import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../src/audit/pseudonymize.js';
import type { DecisionEvent } from '../src/audit/record.js';
import { createConsentVerifier, fileAuditSink } from '../src/index.js';
import { runCli } from './support/processes.js';

// The CLI as a compliance officer runs it: a real process, real files, exit codes and output.
const AUDIT_KEY = 'cli-test-audit-key-0123456789abcdef01234';

const cli = runCli;

const pseudonymize = createPseudonymizer(AUDIT_KEY);
const enforcer = { service: 'cli-test', instance: 'i1', version: '0.0.0' };

function decision(n: number): DecisionEvent {
  const denied = n % 3 === 0;
  return {
    type: 'decision',
    requestId: `req-${n}`,
    actor: { id: n % 2 ? 'clerk-7' : '=HYPERLINK("http://evil")' },
    subject: pseudonymize(n % 4 === 0 ? 'u42' : `u${n}`),
    method: 'GET',
    route: n % 2 ? '/users/:id/records' : '/users/:id/orders',
    purpose: n % 2 ? 'health.records' : 'order.fulfilment',
    categories: n % 2 ? ['medical_health'] : ['contact'],
    operation: 'use',
    basis: n % 2 ? 'consent' : 'contract',
    consent: n % 2 ? { id: `c-${n}`, noticeVersion: 3, type: 'separate' } : null,
    decision: denied ? 'deny' : 'allow',
    reason: denied ? 'separate_consent_required' : n % 2 ? 'consent_valid' : 'lawful_basis',
    status: denied ? 403 : 200,
    enforcer,
  };
}

let dir: string;
let log: string;
let jwksPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-cli-'));
  log = join(dir, 'audit.jsonl');
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  jwksPath = join(dir, 'jwks.json');
  writeFileSync(
    jwksPath,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'cp-1', alg: 'EdDSA' }] }),
  );
  const sink = fileAuditSink({
    path: log,
    chain: 'cli',
    checkpoint: { key: privateKey, kid: 'cp-1', everyRecords: 5 },
  });
  for (let n = 1; n <= 24; n++) sink.append(decision(n));
  await sink.close();
});

describe('pipl-guard audit verify', () => {
  it('exits 0 and summarises a valid log with its checkpoints', async () => {
    const result = await cli(['audit', 'verify', log, '--keys', jwksPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Verifying chain cli/);
    expect(result.stdout).toMatch(/Keys used: kid cp-1/);
    expect(result.stdout).toMatch(/26\/26 records valid/);
    expect(result.stdout).toMatch(/VALID$/m);
  });

  it('exits 1 and names each modified record and the missing seq range', async () => {
    const lines = readFileSync(log, 'utf8').split('\n');
    lines[4] = (lines[4] as string).replace('"status":200', '"status":201');
    lines.splice(10, 3);
    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, lines.join('\n'));
    const result = await cli(['audit', 'verify', tampered]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/seq 4 INVALID: record modified/);
    expect(result.stdout).toMatch(/seq 10\.\.12 INVALID: 3 records missing/);
    expect(result.stdout).toMatch(/INVALID: 2 problem/);
  });

  it('exits 1 on a copy converted to CRLF line endings, and says that is what happened', async () => {
    const crlf = join(dir, 'crlf.jsonl');
    writeFileSync(crlf, readFileSync(log, 'utf8').replaceAll('\n', '\r\n'));
    const result = await cli(['audit', 'verify', crlf]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /seq 0 INVALID: record modified .*the file was converted to CRLF line endings/,
    );
  });

  it('exits 2 on usage errors and a missing file, without a stack trace', async () => {
    const usage = await cli(['audit', 'verify']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/needs a log/);
    const missing = await cli(['audit', 'verify', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const badKeys = await cli(['audit', 'verify', log, '--keys', log]);
    expect(badKeys.code).toBe(2);
  });
});

describe('pipl-guard audit verify on a directory', () => {
  it('verifies each instance log (chain) on its own and ignores files that are not logs', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'pipl-cli-dir-'));
    for (const instance of ['api-1', 'api-2']) {
      const sink = fileAuditSink({ path: join(folder, `${instance}.jsonl`), chain: instance });
      for (let n = 1; n <= 4; n++) sink.append(decision(n));
      await sink.close();
    }
    writeFileSync(join(folder, 'jwks.json'), '{"keys":[]}');
    const both = await cli(['audit', 'verify', folder]);
    expect(both.code).toBe(0);
    expect(both.stdout).toMatch(/Verifying chain api-1/);
    expect(both.stdout).toMatch(/Verifying chain api-2/);

    const second = join(folder, 'api-2.jsonl');
    writeFileSync(
      second,
      readFileSync(second, 'utf8').replace('"reason":"consent_valid"', '"reason":"lawful_basis"'),
    );
    const one = await cli(['audit', 'verify', folder, '--json']);
    expect(one.code).toBe(1);
    const reports = JSON.parse(one.stdout) as { chain: string; valid: boolean }[];
    expect(reports.map((r) => [r.chain, r.valid])).toEqual([
      ['api-1', true],
      ['api-2', false],
    ]);

    // Query and stats read every instance's log together.
    const stats = JSON.parse((await cli(['audit', 'stats', folder, '--json'])).stdout);
    expect(stats.decisions).toBe(8);
  });
});

describe('pipl-guard audit query', () => {
  it('finds a subject given in clear, HMACed with the audit key, as JSON lines', async () => {
    const result = await cli(['audit', 'query', log, '--subject', 'u42', '--format', 'jsonl'], {
      PIPL_AUDIT_KEY: AUDIT_KEY,
    });
    expect(result.code).toBe(0);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((r) => r.requestId)).toEqual([
      'req-4',
      'req-8',
      'req-12',
      'req-16',
      'req-20',
      'req-24',
    ]);
    expect(result.stdout).not.toContain('"u42"');
  });

  it('refuses a clear subject without the audit key', async () => {
    const result = await cli(['audit', 'query', log, '--subject', 'u42'], { PIPL_AUDIT_KEY: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/PIPL_AUDIT_KEY/);
  });

  it('filters by purpose and decision and writes CSV safe for spreadsheets', async () => {
    const result = await cli(['audit', 'query', log, '--purpose', 'order.fulfilment', '--format', 'csv']);
    const [header, ...rows] = result.stdout.trim().split('\n');
    expect(header).toMatch(/^time,seq,type,decision,reason/);
    expect(rows).toHaveLength(12);
    // An actor id that looks like a formula is defused and quoted.
    expect(rows[0]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const denied = await cli(['audit', 'query', log, '--decision', 'deny', '--format', 'jsonl']);
    expect(denied.stdout.trim().split('\n')).toHaveLength(8);
  });

  it('exports OCSF API Activity (6003) events', async () => {
    const result = await cli(['audit', 'query', log, '--purpose', 'health.records', '--format', 'ocsf']);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(12);
    expect(events[0]).toMatchObject({ class_uid: 6003, category_uid: 6, activity_id: 2, type_uid: 600302 });
    const denied = events.find((event) => event.action === 'Denied');
    expect(denied).toMatchObject({ action_id: 2, status_id: 2, status_code: 'separate_consent_required' });
    expect(denied.unmapped.pipl.purpose).toBe('health.records');
  });
});

describe('pipl-guard audit export', () => {
  it('is query with JSON lines by default, for SIEM pipelines', async () => {
    const result = await cli(['audit', 'export', log, '--reason', 'separate_consent_required']);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(8);
    expect(records.every((r) => r.reason === 'separate_consent_required')).toBe(true);
  });
});

describe('pipl-guard audit stats', () => {
  it('counts decisions by purpose, decision, reason and category', async () => {
    const result = await cli(['audit', 'stats', log, '--json']);
    const stats = JSON.parse(result.stdout);
    expect(stats.decisions).toBe(24);
    expect(stats.byDecision).toEqual({ allow: 16, deny: 8 });
    expect(stats.byPurpose).toEqual({ 'health.records': 12, 'order.fulfilment': 12 });
    expect(stats.byCategory.medical_health).toBe(12);
  });
});

describe('pipl-guard keys generate', () => {
  it('prints an Ed25519 private JWK and the public JWKS for checkpoints', async () => {
    const result = await cli(['keys', 'generate', '--kid', 'audit-2026']);
    const { privateJwk, jwks } = JSON.parse(result.stdout);
    expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: 'audit-2026' });
    expect(privateJwk.d).toBeTypeOf('string');
    expect(jwks.keys[0].d).toBeUndefined();
  });
});

describe('pipl-guard token', () => {
  it('issues a consent token the guard accepts, from a generated ES256 key', async () => {
    const { privateJwk, jwks } = JSON.parse(
      (await cli(['keys', 'generate', '--alg', 'ES256', '--kid', 'dev-1'])).stdout,
    );
    const keyPath = join(dir, 'consent-key.jwk');
    writeFileSync(keyPath, JSON.stringify(privateJwk));
    const consentPath = join(dir, 'consent.json');
    const grant = {
      purpose: 'health.records',
      categories: ['medical_health'],
      ops: ['use'],
      consentType: 'separate',
    };
    writeFileSync(
      consentPath,
      JSON.stringify({
        issuer: 'https://consent.test',
        audience: 'api',
        subject: 'u42',
        notice: { id: 'n', version: 1 },
        grants: [grant],
      }),
    );
    const issued = await cli([
      'token',
      'issue',
      '--key',
      keyPath,
      '--consent',
      consentPath,
      '--expires-in',
      '600',
    ]);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();

    const verifier = createConsentVerifier({
      issuer: 'https://consent.test',
      audience: 'api',
      algorithms: ['ES256'],
      jwks,
    });
    const consent = await verifier.verify(token);
    expect(consent).toMatchObject({
      subject: 'u42',
      grants: [expect.objectContaining({ consentType: 'separate' })],
    });
    expect(consent.expiresAt - consent.issuedAt).toBe(600);

    const inspected = JSON.parse((await cli(['token', 'inspect', token])).stdout);
    expect(inspected.header).toMatchObject({ alg: 'ES256', kid: 'dev-1', typ: 'pipl-consent+jwt' });
    expect(inspected.note).toMatch(/NOT checked/);
  });

  it('refuses claims the verifier would refuse, and a public key, as usage errors', async () => {
    const { privateJwk, jwks } = JSON.parse((await cli(['keys', 'generate', '--alg', 'ES256'])).stdout);
    const keyPath = join(dir, 'k2.jwk');
    writeFileSync(keyPath, JSON.stringify(privateJwk));
    const bad = join(dir, 'bad-consent.json');
    const grant = { purpose: 'p', categories: ['c'], ops: ['sell'], consentType: 'general' };
    writeFileSync(
      bad,
      JSON.stringify({
        issuer: 'i',
        audience: 'a',
        subject: 's',
        notice: { id: 'n', version: 1 },
        grants: [grant],
      }),
    );
    const refused = await cli(['token', 'issue', '--key', keyPath, '--consent', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/grants\.0\.ops/);
    const publicPath = join(dir, 'public.jwk');
    writeFileSync(publicPath, JSON.stringify(jwks.keys[0]));
    expect((await cli(['token', 'issue', '--key', publicPath, '--consent', bad])).stderr).toMatch(
      /private JWK/,
    );
  });
});

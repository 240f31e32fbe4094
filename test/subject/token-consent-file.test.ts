import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConsentVerifier } from '../../src/index.js';
import { runCli } from '../support/processes.js';

// Regression (issue 9, item 0): `token issue` dropped `prefs` from consent.json, so a user who had
// opted out of personalisation (Art. 24) got a token saying nothing, audited as `consent_valid`.
let dir: string;
let keyPath: string;
let jwks: { keys: object[] };

const base = {
  issuer: 'https://consent.test',
  audience: 'api',
  subject: 'u42',
  notice: { id: 'n', version: 1 },
  grants: [
    { purpose: 'marketing.personalized', categories: ['behavior'], ops: ['use'], consentType: 'general' },
  ],
};

function consentFile(name: string, body: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-token-file-'));
  const generated = JSON.parse((await runCli(['keys', 'generate', '--alg', 'ES256', '--kid', 'k1'])).stdout);
  keyPath = join(dir, 'key.jwk');
  writeFileSync(keyPath, JSON.stringify(generated.privateJwk));
  jwks = generated.jwks;
});

async function verified(token: string) {
  const verifier = createConsentVerifier({
    issuer: 'https://consent.test',
    audience: 'api',
    algorithms: ['ES256'],
    jwks: jwks as never,
  });
  return verifier.verify(token);
}

describe('pipl-guard token issue: consent.json', () => {
  it('keeps the README shape `prefs: { personalization: false }` in the token (Art. 24 opt-out)', async () => {
    const path = consentFile('prefs.json', { ...base, prefs: { personalization: false } });
    const issued = await runCli(['token', 'issue', '--key', keyPath, '--consent', path]);
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    const consent = await verified(issued.stdout.trim());
    expect(consent.personalization).toBe(false);
  });

  it('refuses a misspelt field (`agaBand`) with a usage error naming it', async () => {
    const path = consentFile('typo.json', { ...base, agaBand: 'under14' });
    const refused = await runCli(['token', 'issue', '--key', keyPath, '--consent', path]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/agaBand/);
  });

  it('refuses unknown fields nested in prefs, subject details and grants', async () => {
    for (const [name, body, field] of [
      ['p.json', { ...base, prefs: { personalisation: false } }, /personalisation/],
      ['g.json', { ...base, grants: [{ ...base.grants[0], consentTyp: 'separate' }] }, /consentTyp/],
      ['n.json', { ...base, notice: { id: 'n', version: 1, extra: 1 } }, /extra/],
    ] as const) {
      const refused = await runCli([
        'token',
        'issue',
        '--key',
        keyPath,
        '--consent',
        consentFile(name, body),
      ]);
      expect(refused.code, name).toBe(2);
      expect(refused.stderr, name).toMatch(field);
    }
  });

  it('refuses the old undocumented top-level `personalization`, pointing at `prefs`', async () => {
    const path = consentFile('old.json', { ...base, personalization: false });
    const refused = await runCli(['token', 'issue', '--key', keyPath, '--consent', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/prefs/);
  });
});

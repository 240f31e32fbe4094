import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileAuditSink } from '../src/index.js';
import { runCli } from './support/processes.js';

// README: the `keys generate` output is usable as it is by `token issue --key` and `audit verify --keys`.
describe('pipl-guard keys generate output, used as it is', () => {
  it('signs checkpoints with its privateJwk, and audit verify --keys takes the whole file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipl-cli-keys-'));
    const generated = await runCli(['keys', 'generate', '--kid', 'audit-1']);
    expect(generated.code).toBe(0);
    const keysPath = join(dir, 'audit-keys.json');
    writeFileSync(keysPath, generated.stdout);
    const log = join(dir, 'audit.jsonl');
    const sink = fileAuditSink({
      path: log,
      checkpoint: { key: JSON.parse(generated.stdout).privateJwk, kid: 'audit-1', everyRecords: 1 },
    });
    await sink.close();
    const verified = await runCli(['audit', 'verify', log, '--keys', keysPath]);
    expect(verified.stderr).not.toMatch(/must be a JWKS/);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/Keys used: kid audit-1/);
    expect(verified.stdout).toMatch(/VALID$/m);
  });

  it('token issue --key takes it too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipl-cli-keys-'));
    const keysPath = join(dir, 'dev-keys.json');
    writeFileSync(keysPath, (await runCli(['keys', 'generate', '--alg', 'ES256', '--kid', 'dev-1'])).stdout);
    const consentPath = join(dir, 'consent.json');
    writeFileSync(
      consentPath,
      JSON.stringify({
        issuer: 'https://consent.example.cn',
        audience: 'shop-api',
        subject: 'u42',
        notice: { id: 'shop-privacy', version: 3 },
        grants: [
          {
            purpose: 'health.records',
            categories: ['medical_health'],
            ops: ['use'],
            consentType: 'separate',
          },
        ],
      }),
    );
    const issued = await runCli(['token', 'issue', '--key', keysPath, '--consent', consentPath]);
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    expect(issued.stdout.trim().split('.')).toHaveLength(3);
  });
});

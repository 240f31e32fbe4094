import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { generateSm2Jwk } from '../../src/audit/sm2.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { fileAuditSink } from '../../src/index.js';
import { runCli } from '../support/processes.js';

// An SM3 chain with SM2-signed checkpoints, written by the file sink and verified by the same CLI.
const enforcer = { service: 'gm', instance: 'i1', version: '0.0.0' };
let dir: string;
let log: string;
let jwks: string;

function decision(n: number) {
  return {
    type: 'decision' as const,
    requestId: `r${n}`,
    actor: null,
    subject: null,
    method: 'GET',
    route: '/r',
    purpose: 'order.fulfilment',
    categories: ['contact'],
    operation: 'use' as const,
    basis: 'contract' as const,
    consent: null,
    decision: 'allow' as const,
    reason: 'lawful_basis' as const,
    status: 200,
    enforcer,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-sm-'));
  log = join(dir, 'gm.jsonl');
  const { privateJwk, publicJwk } = await generateSm2Jwk('cp-sm2');
  jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [publicJwk] }));
  const sink = fileAuditSink({
    path: log,
    chain: 'gm',
    hash: 'sm3',
    checkpoint: { key: privateJwk as never, alg: 'SM2SM3', kid: 'cp-sm2', everyRecords: 5 },
    enforcer,
  });
  for (let n = 0; n < 12; n++) sink.append(decision(n));
  await sink.close();
});

describe('SM3 chain with SM2 checkpoints', { timeout: 60_000 }, () => {
  it('records the algorithm in writer_start and hashes every record with SM3', () => {
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({ type: 'writer_start', hashAlg: 'sm3', seq: 0 });
    for (const line of lines) {
      const { hash, ...body } = JSON.parse(line);
      expect(hash).toBe(createHash('sm3').update(canonicalize(body)).digest('hex'));
    }
    const checkpoints = readFileSync(`${log}.checkpoints`, 'utf8').trim().split('\n');
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    for (const jws of checkpoints)
      expect(JSON.parse(Buffer.from(jws.split('.')[0] as string, 'base64url').toString()).alg).toBe('SM2SM3');
  });

  it('the library and `audit verify` accept it with the SM2 public key', async () => {
    const report = await verifyAuditTrail(log, { keys: JSON.parse(readFileSync(jwks, 'utf8')) });
    expect(report.valid).toBe(true);
    expect(report.hashAlg).toBe('sm3');
    expect(report.checkpoints.valid).toBe(report.checkpoints.total);
    expect(report.unsignedTail).toBe(0);
    const result = await runCli(['audit', 'verify', log, '--keys', jwks]);
    expect(result.stdout).toMatch(/14\/14 records valid/);
    expect(result.stdout).toMatch(/^Hash: SM3 \(GB\/T 32905\)/m);
    expect(result.stdout).toMatch(/VALID$/m);
    expect(result.code).toBe(0);
  });

  it('`report` shows the SM3 chain and its SM2 checkpoints as valid', async () => {
    const out = join(dir, 'report.html');
    const result = await runCli(['report', log, '--out', out, '--keys', jwks]);
    expect(result.code, result.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<td class="n">14</td><td>SM3</td>');
    expect(html).toMatch(/id="verdict" class="ok">VALID/);
  });

  it('a modified record, or one re-hashed with SHA-256, is reported (exit 1)', async () => {
    const lines = readFileSync(log, 'utf8').split('\n');
    const modified = join(dir, 'modified.jsonl');
    writeFileSync(
      modified,
      lines.map((l, i) => (i === 3 ? l.replace('"status":200', '"status":201') : l)).join('\n'),
    );
    const result = await runCli(['audit', 'verify', modified]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/seq 3 INVALID: record modified/);
    // A record whose hash is the SHA-256 of its content does not belong in an SM3 chain.
    const { hash: _old, ...body } = JSON.parse(lines[4] as string);
    const sha = createHash('sha256').update(canonicalize(body)).digest('hex');
    const swapped = join(dir, 'swapped.jsonl');
    writeFileSync(
      swapped,
      lines.map((l, i) => (i === 4 ? canonicalize({ ...body, hash: sha }) : l)).join('\n'),
    );
    const report = await verifyAuditTrail(swapped);
    expect(report.valid).toBe(false);
    expect(report.problems[0]?.message).toMatch(/seq 4 INVALID: record modified/);
  });

  it('a checkpoint verified with the wrong SM2 key is invalid; SHA-256 stays the default', async () => {
    const other = await generateSm2Jwk('cp-sm2');
    const report = await verifyAuditTrail(log, { keys: { keys: [other.publicJwk as never] } });
    expect(report.valid).toBe(false);
    expect(report.problems.some((p) => p.kind === 'checkpoint_signature')).toBe(true);
    const plain = join(dir, 'plain.jsonl');
    const sink = fileAuditSink({ path: plain, chain: 'plain', enforcer });
    sink.append(decision(1));
    await sink.close();
    const [start, record] = readFileSync(plain, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(start.hashAlg).toBeUndefined();
    const { hash, ...body } = record;
    expect(hash).toBe(createHash('sha256').update(canonicalize(body)).digest('hex'));
    expect((await verifyAuditTrail(plain)).hashAlg).toBe('sha256');
  });

  it('`keys generate --alg SM2` prints an SM2 key pair that signs what its JWKS verifies', async () => {
    const result = await runCli(['keys', 'generate', '--alg', 'SM2', '--kid', 'gm-1']);
    expect(result.code).toBe(0);
    const { privateJwk, jwks: set } = JSON.parse(result.stdout);
    expect(privateJwk).toMatchObject({ kty: 'EC', crv: 'SM2', kid: 'gm-1', alg: 'SM2SM3' });
    expect(set.keys[0].d).toBeUndefined();
    const path = join(dir, 'generated.jsonl');
    const sink = fileAuditSink({
      path,
      chain: 'g',
      hash: 'sm3',
      checkpoint: { key: privateJwk, alg: 'SM2SM3', kid: 'gm-1', everyRecords: 2 },
      enforcer,
    });
    sink.append(decision(1));
    await sink.close();
    const report = await verifyAuditTrail(path, { keys: set });
    expect(report.valid).toBe(true);
    expect(report.checkpoints.valid).toBeGreaterThan(0);
  });
});

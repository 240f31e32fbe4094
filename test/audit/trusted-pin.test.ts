/**
 * Issue 6 items 5 and 6: what a trusted checkpoint pins, and what verification says when it has none.
 *
 * 5. Deleting the records a checkpoint covers from the *active* file used to pass as "retention".
 *    Only whole old segments removed at a signed rotation boundary are retention; anything else is
 *    records_missing, and a trusted checkpoint whose record is gone fails.
 * 6. Cutting the log and `.checkpoints` back to an older checkpoint is consistent on disk: nothing
 *    local can show it. The report must always say so (`truncation`), and the CLI prints it.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckpointPayload } from '../../src/audit/checkpoint.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { DecisionEvent } from '../../src/audit/record.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { runCli } from '../support/processes.js';

const enforcer = { service: 'pin-test', instance: 'test-1', version: '0.0.0' };
const KID = 'audit-pin';
let privateKey: CryptoKey;
let keys: { keys: JWK[] };
let dir: string;

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  privateKey = pair.privateKey;
  keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' }] };
});
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-pin-'));
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

function decision(i: number): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: null,
    subject: 'hmac-sha256:abc',
    method: 'GET',
    route: '/users/:id/health',
    purpose: 'health.records',
    categories: ['medical_health'],
    operation: 'use',
    basis: 'consent',
    consent: null,
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
  };
}

const lines = (path: string) => fs.readFileSync(path, 'utf8').split('\n').filter(Boolean);
const writeLines = (path: string, content: readonly string[]) =>
  fs.writeFileSync(path, content.map((line) => `${line}\n`).join(''));

/** writer_start, 5 × (10 decisions + flush → checkpoint at 10, 20, …, 50), writer_stop + close checkpoint (51). */
async function writeTrail(path: string, extra: Partial<Parameters<typeof fileAuditSink>[0]> = {}) {
  const delivered: { jws: string; payload: CheckpointPayload }[] = [];
  const sink = fileAuditSink({
    path,
    enforcer,
    checkpoint: {
      key: privateKey,
      kid: KID,
      everyRecords: 10,
      everyMs: 3_600_000,
      onCheckpoint: (checkpoint) => {
        delivered.push(checkpoint);
      },
    },
    ...extra,
  });
  let n = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 10; i++) sink.append(decision(n++));
    await sink.flush();
  }
  return { sink, delivered };
}

describe('a trusted checkpoint pins the log (issue 6 item 5)', () => {
  it('attack: the records a checkpoint covers deleted from the active file → records_missing, not "retention"', async () => {
    const path = join(dir, 'audit.jsonl');
    const { sink, delivered } = await writeTrail(path);
    await sink.close();
    await vi.waitFor(() => expect(delivered).toHaveLength(6));
    const trusted = delivered[2]?.jws as string; // lastSeq 30
    expect(delivered[2]?.payload.lastSeq).toBe(30);
    writeLines(path, lines(path).slice(31)); // seq 0..30 gone; seq 31 links to the signed hash of 30

    for (const options of [{ keys }, { keys, trustedCheckpoint: trusted }]) {
      const report = await verifyAuditTrail(path, options);
      expect(report.valid).toBe(false);
      expect(report.problems[0]).toMatchObject({ kind: 'records_missing', seq: 0, seqTo: 30 });
      expect(report.notices.join('\n')).not.toMatch(/retention/);
    }
    const pinned = await verifyAuditTrail(path, { keys, trustedCheckpoint: trusted });
    expect(pinned.problems.map((p) => p.kind)).toContain('trusted_checkpoint');
    expect(pinned.problems.find((p) => p.kind === 'trusted_checkpoint')?.message).toMatch(
      /trusted checkpoint seq 30 INVALID: its record is missing from the log/,
    );
  });

  it('whole old segments removed by retention are accepted, and the report says the trusted seq went with them', async () => {
    const path = join(dir, 'audit.jsonl');
    const { sink, delivered } = await writeTrail(path, {
      rotate: { maxBytes: 4000 },
      retentionDays: 0.00001,
    });
    const trusted = delivered[0]?.jws as string; // an early checkpoint, kept outside
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_600_000); // the segments are now older than retentionDays
    for (let i = 0; i < 10; i++) sink.append(decision(100 + i));
    await sink.flush(); // rotation → retention removes covered segments
    await sink.close();
    const report = await verifyAuditTrail(path, { keys, trustedCheckpoint: trusted });
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.firstSeq).toBeGreaterThan(delivered[0]?.payload.lastSeq ?? 0);
    expect(report.notices.join('\n')).toMatch(
      new RegExp(
        `were removed \\(retention\\): whole segments.*trusted checkpoint seq ${delivered[0]?.payload.lastSeq} lies in them`,
      ),
    );
  });

  it('attack: the active file renamed to a segment name after cutting its head is still records_missing', async () => {
    // Retention only ever starts the log at a signed *rotation* boundary; a cut anywhere else fails.
    const path = join(dir, 'audit.jsonl');
    const { sink } = await writeTrail(path);
    await sink.close();
    const kept = lines(path).slice(31);
    fs.rmSync(path);
    writeLines(`${path}.000000000031`, kept);
    fs.writeFileSync(path, '');
    const report = await verifyAuditTrail(path, { keys });
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({ kind: 'records_missing', seq: 0, seqTo: 30 });
  });
});

describe('cut back to an older checkpoint (issue 6 item 6)', () => {
  it('verifies, and always says that deleting the newest records cannot be seen without a trusted checkpoint', async () => {
    const path = join(dir, 'audit.jsonl');
    const { sink, delivered } = await writeTrail(path);
    await sink.close();
    await vi.waitFor(() => expect(delivered).toHaveLength(6));
    // Log and .checkpoints cut back consistently to checkpoint #3 (seq 30).
    writeLines(path, lines(path).slice(0, 31));
    writeLines(`${path}.checkpoints`, lines(`${path}.checkpoints`).slice(0, 3));

    const report = await verifyAuditTrail(path, { keys });
    expect(report.valid).toBe(true); // nothing local shows the cut...
    expect(report.truncation).toEqual({
      detectable: false,
      note: expect.stringMatching(
        /deletion of the newest records cannot be detected without a trusted checkpoint/,
      ),
    });
    // ...the CLI says so too.
    const cli = await runCli(['audit', 'verify', path, '--keys', writeKeys()]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      /Notice: deletion of the newest records cannot be detected without a trusted checkpoint \(--trusted-checkpoint\)/,
    );

    // With the newest checkpoint kept elsewhere, the cut shows.
    const pinned = await verifyAuditTrail(path, { keys, trustedCheckpoint: delivered.at(-1)?.jws as string });
    expect(pinned.valid).toBe(false);
    expect(pinned.truncation).toEqual({
      detectable: true,
      note: expect.stringMatching(/checked against the trusted checkpoint \(seq 51\)/),
    });
  });
});

function writeKeys(): string {
  const file = join(dir, 'keys.json');
  fs.writeFileSync(file, JSON.stringify(keys));
  return file;
}

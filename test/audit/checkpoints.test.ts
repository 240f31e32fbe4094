/**
 * Signed checkpoints (Ed25519 JWS), rotation into segments, and retention.
 *
 * The tamper cases play a key-less attacker with write access to the log directory: they can edit,
 * delete and re-hash records and checkpoint lines, but cannot sign. Each attack must surface as the
 * right TrailProblemKind in verifyAuditTrail, and several of them are invisible to the hash chain
 * alone (verifyAuditLog), which is why checkpoints exist.
 *
 * Only `Date` is faked, and only in the retention tests (to age segments without sleeping).
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { recordHash } from '../../src/audit/chain.js';
import {
  type CheckpointPayload,
  checkpointDigest,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/audit/checkpoint.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditRecord, DecisionEvent } from '../../src/audit/record.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { type TrailProblemKind, verifyAuditTrail } from '../../src/audit/verify-trail.js';

const enforcer = { service: 'checkpoint-test', instance: 'test-1', version: '0.0.0' };
const KID = 'audit-2026-01';

interface Signer {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function ed25519(kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

let signer: Signer;
let rogue: Signer;
let keys: { keys: JWK[] };
let dir: string;

beforeAll(async () => {
  signer = await ed25519(KID);
  rogue = await ed25519('rogue');
  keys = { keys: [signer.publicJwk] };
});

beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-checkpoints-'));
});

afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

function decision(i: number): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: { id: 'clinician-7' },
    subject: 'hmac-sha256:abc',
    method: 'GET',
    route: '/users/:id/health',
    purpose: 'health.records',
    categories: ['medical_health'],
    operation: 'use',
    basis: 'consent',
    consent: { id: `consent-${i}`, noticeVersion: 2, type: 'separate' },
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
  };
}

function lines(path: string): string[] {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

function writeLines(path: string, content: readonly string[]) {
  fs.writeFileSync(path, content.map((line) => `${line}\n`).join(''));
}

function payloadOf(jws: string): CheckpointPayload {
  return JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString('utf8'));
}

function kinds(report: { problems: { kind: TrailProblemKind }[] }): TrailProblemKind[] {
  return [...new Set(report.problems.map((problem) => problem.kind))];
}

/**
 * Rewrites record `index` with `mutate`, then re-hashes it and every later record so that each one
 * links to the one before: a consistent forgery by someone who knows the format but not the key.
 */
function rewriteFrom(content: string[], index: number, mutate: (record: Record<string, unknown>) => void) {
  const out = content.slice(0, index);
  let prev = index > 0 ? (JSON.parse(out[index - 1] as string) as AuditRecord).hash : undefined;
  for (let i = index; i < content.length; i++) {
    const record = JSON.parse(content[i] as string) as Record<string, unknown>;
    if (i === index) mutate(record);
    if (prev !== undefined) record.prev = prev;
    delete record.hash;
    const hash = recordHash(record as never);
    out.push(canonicalize({ ...record, hash }));
    prev = hash;
  }
  return out;
}

/**
 * writer_start (seq 0), `rounds` × 10 decisions each followed by a flush (one `records` checkpoint
 * per round: lastSeq 10, 20, …), then `tail` more decisions and, when `close`, writer_stop + a
 * `close` checkpoint.
 */
async function writeTrail(path: string, { rounds = 5, tail = 0, close = true } = {}) {
  const delivered: { jws: string; payload: CheckpointPayload }[] = [];
  const sink = fileAuditSink({
    path,
    enforcer,
    checkpoint: {
      key: signer.privateKey,
      kid: KID,
      everyRecords: 10,
      everyMs: 3_600_000,
      onCheckpoint: (checkpoint) => {
        delivered.push(checkpoint);
      },
    },
  });
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 10; i++) sink.append(decision(n++));
    await sink.flush();
  }
  for (let i = 0; i < tail; i++) sink.append(decision(n++));
  await sink.flush();
  if (close) await sink.close();
  return { sink, delivered, checkpointPath: `${path}.checkpoints` };
}

describe('signed checkpoints', () => {
  it('writes JWS lines every 10 records, hands each to onCheckpoint, and each verifies', async () => {
    const path = join(dir, 'audit.jsonl');
    const { sink, delivered, checkpointPath } = await writeTrail(path, { tail: 3, close: false });

    const jwsLines = lines(checkpointPath);
    expect(jwsLines).toHaveLength(5);
    expect(delivered.map((d) => d.jws)).toEqual(jwsLines);
    let prevDigest: string | null = null;
    for (const [i, jws] of jwsLines.entries()) {
      expect(jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const check = await verifyCheckpoint(jws, keys);
      expect(check.ok).toBe(true);
      if (!check.ok) continue;
      expect(check.kid).toBe(KID);
      expect(check.payload).toEqual(delivered[i]?.payload);
      expect(check.payload).toMatchObject({
        type: 'pipl-audit-checkpoint',
        // No chain named: `<hostname>-<8 hex>`, distinct per instance.
        chain: expect.stringMatching(/^.+-[0-9a-f]{8}$/),
        lastSeq: 10 * (i + 1),
        size: 10 * (i + 1) + 1,
        prevCheckpoint: prevDigest,
        trigger: 'records',
      });
      // The signed hash is the hash of the record at lastSeq.
      const record = JSON.parse(lines(path)[check.payload.lastSeq] as string) as AuditRecord;
      expect(record.hash).toBe(check.payload.lastHash);
      prevDigest = checkpointDigest(jws);
    }

    // Three records after the newest checkpoint: the unsigned tail.
    const open = await verifyAuditTrail(path, { keys });
    expect(open.problems).toEqual([]);
    expect(open.valid).toBe(true);
    expect(open.checkpoints).toMatchObject({
      total: 5,
      valid: 5,
      invalid: 0,
      kids: [KID],
      lastCoveredSeq: 50,
    });
    expect(open.unsignedTail).toBe(3);

    // close() signs the rest (writer_stop included).
    await sink.close();
    const closed = await verifyAuditTrail(path, { keys });
    expect(closed.valid).toBe(true);
    expect(closed.checkpoints.total).toBe(6);
    expect(payloadOf(lines(checkpointPath).at(-1) as string)).toMatchObject({
      trigger: 'close',
      lastSeq: 54,
    });
    expect(closed.unsignedTail).toBe(0);
    expect(closed.lastSeq).toBe(54);
  });

  it('the checkpoint chain continues across a restart (prevCheckpoint links to the last one on disk)', async () => {
    const path = join(dir, 'audit.jsonl');
    await writeTrail(path, { rounds: 2 });
    const firstRun = lines(`${path}.checkpoints`);
    const { delivered } = await writeTrail(path, { rounds: 2 });
    expect(delivered[0]?.payload.prevCheckpoint).toBe(checkpointDigest(firstRun.at(-1) as string));
    const report = await verifyAuditTrail(path, { keys });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints).toMatchObject({ total: 6, valid: 6, invalid: 0 });
    expect(report.unsignedTail).toBe(0);
  });

  it('an interval tick while the previous checkpoint is still being synced/signed keeps one unbroken chain', async () => {
    // A checkpoint is async (fdatasync, then sign). On a busy disk it can take longer than everyMs,
    // and the interval timer only checks that no batch is being written, so the next tick starts a
    // second checkpoint before the first is done. Faked: setInterval only, two ticks back to back.
    // An honest writer must never produce a trail its own verifier calls tampered with.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const path = join(dir, 'audit.jsonl');
    const checkpointPath = `${path}.checkpoints`;
    const count = () => (fs.existsSync(checkpointPath) ? lines(checkpointPath).length : 0);
    const sink = fileAuditSink({
      path,
      enforcer,
      checkpoint: { key: signer.privateKey, kid: KID, everyRecords: 1000, everyMs: 60_000 },
    });
    let n = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) sink.append(decision(n++));
      await sink.flush();
      const before = count();
      vi.advanceTimersByTime(60_000); // checkpoint 1 starts: awaits fdatasync
      vi.advanceTimersByTime(60_000); // the next tick, while checkpoint 1 is still pending
      await vi.waitFor(() => expect(count()).toBe(before + 2), { timeout: 2000, interval: 2 });
    }
    await sink.close();
    const report = await verifyAuditTrail(path, { keys });
    expect(report.checkpoints.total).toBe(11);
    expect(report.problems.slice(0, 3)).toEqual([]);
    expect(report.checkpoints.invalid).toBe(0);
    expect(report.valid).toBe(true);
  });

  it('without keys the checkpoints are only counted, with a notice', async () => {
    const path = join(dir, 'audit.jsonl');
    await writeTrail(path);
    const report = await verifyAuditTrail(path);
    expect(report.valid).toBe(true);
    expect(report.checkpoints.valid).toBe(0);
    expect(report.notices.join('\n')).toMatch(/6 checkpoints present but not checked: no keys given/);
  });

  describe('tampering a key-less attacker can do', () => {
    let path: string;
    let checkpointPath: string;
    let delivered: { jws: string; payload: CheckpointPayload }[];
    beforeEach(async () => {
      path = join(dir, 'audit.jsonl');
      ({ delivered, checkpointPath } = await writeTrail(path));
      const clean = await verifyAuditTrail(path, { keys });
      expect(clean.problems).toEqual([]);
      expect(lines(path)).toHaveLength(52); // seq 0..51
      expect(delivered.map((d) => d.payload.lastSeq)).toEqual([10, 20, 30, 40, 50, 51]);
    });

    it('history rewritten and the whole chain re-hashed consistently → checkpoint_mismatch', async () => {
      const forged = rewriteFrom(lines(path), 5, (record) => {
        record.decision = 'deny';
        record.reason = 'consent_missing';
        record.status = 403;
      });
      writeLines(path, forged);
      // The hash chain alone is fooled...
      expect((await verifyAuditLog(path)).valid).toBe(true);
      expect((await verifyAuditTrail(path)).valid).toBe(true);
      // ...the signed checkpoints are not: every one of them signed a hash that is gone.
      const report = await verifyAuditTrail(path, { keys });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['checkpoint_mismatch']);
      expect(report.problems.map((p) => p.seq)).toEqual([10, 20, 30, 40, 50, 51]);
    });

    it('tail truncation (last 5 records deleted) → log_truncated, seen only thanks to a checkpoint', async () => {
      writeLines(path, lines(path).slice(0, -5));
      expect((await verifyAuditLog(path)).valid).toBe(true);
      expect((await verifyAuditTrail(path)).valid).toBe(true);
      const report = await verifyAuditTrail(path, { keys });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['log_truncated']);
      expect(report.problems[0]).toMatchObject({ seq: 47, seqTo: 51 });
    });

    it('a checkpoint line deleted → checkpoint_missing', async () => {
      const jws = lines(checkpointPath);
      writeLines(checkpointPath, [...jws.slice(0, 2), ...jws.slice(3)]);
      const report = await verifyAuditTrail(path, { keys });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['checkpoint_missing']);
      expect(report.problems).toHaveLength(1);
    });

    it('a checkpoint payload altered → checkpoint_signature', async () => {
      const jws = lines(checkpointPath);
      const [header, payload, signature] = (jws[1] as string).split('.') as [string, string, string];
      const json = Buffer.from(payload, 'base64url').toString('utf8');
      // Change one byte: the first hex digit of lastHash.
      const at = json.indexOf('"lastHash":"') + '"lastHash":"'.length;
      const altered = json.slice(0, at) + (json[at] === '0' ? '1' : '0') + json.slice(at + 1);
      jws[1] = `${header}.${Buffer.from(altered).toString('base64url')}.${signature}`;
      writeLines(checkpointPath, jws);
      const report = await verifyAuditTrail(path, { keys });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['checkpoint_signature']);
      expect(report.checkpoints.invalid).toBe(1);
    });

    it('a checkpoint signed by another key → checkpoint_unknown_key (own kid) or checkpoint_signature (stolen kid)', async () => {
      const jws = lines(checkpointPath);
      const payload = payloadOf(jws[1] as string);
      const withOwnKid = [...jws];
      withOwnKid[1] = await signCheckpoint(payload, { key: rogue.privateKey, kid: 'rogue' });
      writeLines(checkpointPath, withOwnKid);
      const unknown = await verifyAuditTrail(path, { keys });
      expect(unknown.valid).toBe(false);
      expect(kinds(unknown)).toEqual(['checkpoint_unknown_key']);

      const withStolenKid = [...jws];
      withStolenKid[1] = await signCheckpoint(payload, { key: rogue.privateKey, kid: KID });
      writeLines(checkpointPath, withStolenKid);
      const forged = await verifyAuditTrail(path, { keys });
      expect(forged.valid).toBe(false);
      expect(kinds(forged)).toEqual(['checkpoint_signature']);
    });

    it('trustedCheckpoint: log AND checkpoints truncated consistently → log_truncated', async () => {
      // The newest checkpoint, shipped outside the writer's reach by onCheckpoint.
      const trusted = delivered.at(-1)?.jws as string;
      // The attacker cuts the log after seq 35 and drops the checkpoints covering what was cut.
      writeLines(path, lines(path).slice(0, 36));
      writeLines(checkpointPath, lines(checkpointPath).slice(0, 3)); // lastSeq 10, 20, 30
      const local = await verifyAuditTrail(path, { keys });
      expect(local.problems).toEqual([]); // consistent: nothing on disk shows the cut
      expect(local.unsignedTail).toBe(5);

      const report = await verifyAuditTrail(path, { keys, trustedCheckpoint: trusted });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['log_truncated']);
      expect(report.problems[0]).toMatchObject({ seq: 36, seqTo: 51 });
    });

    it('trustedCheckpoint: cut and re-grown with forged records → checkpoint_mismatch', async () => {
      const trusted = delivered.at(-1)?.jws as string;
      const forged = rewriteFrom(lines(path), 36, (record) => {
        record.requestId = 'innocent';
      });
      writeLines(path, forged);
      writeLines(checkpointPath, lines(checkpointPath).slice(0, 3));
      expect((await verifyAuditTrail(path, { keys })).valid).toBe(true);
      const report = await verifyAuditTrail(path, { keys, trustedCheckpoint: trusted });
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['checkpoint_mismatch']);
      expect(report.problems[0]).toMatchObject({ seq: 51 });
    });

    it('trustedCheckpoint that does not verify → trusted_checkpoint', async () => {
      const payload = payloadOf(delivered.at(-1)?.jws as string);
      const fake = await signCheckpoint(payload, { key: rogue.privateKey, kid: 'rogue' });
      const report = await verifyAuditTrail(path, { keys, trustedCheckpoint: fake });
      expect(kinds(report)).toEqual(['trusted_checkpoint']);
      const noKeys = await verifyAuditTrail(path, { trustedCheckpoint: delivered.at(-1)?.jws as string });
      expect(kinds(noKeys)).toEqual(['trusted_checkpoint']);
    });
  });
});

/** Rotated segments of `path`, in name order, with their records. */
function segments(path: string) {
  const name = basename(path);
  return fs
    .readdirSync(dir)
    .filter((file) => file.startsWith(`${name}.`) && /\.\d{12}$/.test(file))
    .sort()
    .map((file) => ({
      file,
      path: join(dir, file),
      firstSeq: Number(file.slice(-12)),
      records: lines(join(dir, file)).map((line) => JSON.parse(line) as AuditRecord),
    }));
}

/** Writes `batches` flushed batches of 5 decisions through a sink that rotates past 2000 bytes. */
async function writeRotating(
  path: string,
  batches: number,
  extra: Partial<Parameters<typeof fileAuditSink>[0]> = {},
) {
  const sink = fileAuditSink({ path, enforcer, rotate: { maxBytes: 2000 }, ...extra });
  let n = 0;
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < 5; i++) sink.append(decision(n++));
    await sink.flush();
  }
  return sink;
}

const checkpointOptions = () => ({
  checkpoint: { key: signer.privateKey, kid: KID, everyRecords: 1000, everyMs: 3_600_000 },
});

describe('rotation', () => {
  it('splits the chain into <path>.NNNNNNNNNNNN segments that continue one chain', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = await writeRotating(path, 6, checkpointOptions());
    await sink.close();

    const segs = segments(path);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    let expectedSeq = 0;
    let prevHash: string | undefined;
    for (const seg of segs) {
      expect(seg.file).toMatch(/^audit\.jsonl\.\d{12}$/);
      expect(seg.records[0]?.seq).toBe(seg.firstSeq);
      expect(seg.firstSeq).toBe(expectedSeq);
      if (prevHash !== undefined) expect(seg.records[0]?.prev).toBe(prevHash); // chain crosses the file boundary
      expectedSeq = (seg.records.at(-1)?.seq ?? -1) + 1;
      prevHash = seg.records.at(-1)?.hash;
    }
    const active = lines(path).map((line) => JSON.parse(line) as AuditRecord);
    expect(active[0]?.seq).toBe(expectedSeq);
    expect(active[0]?.prev).toBe(prevHash);

    // Every rotation was signed first.
    const triggers = lines(`${path}.checkpoints`).map((jws) => payloadOf(jws).trigger);
    expect(triggers.filter((t) => t === 'rotation')).toHaveLength(segs.length);

    const report = await verifyAuditTrail(path, { keys });
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.firstSeq).toBe(0);
    expect(report.lastSeq).toBe(6 * 5 + 1); // writer_start, 30 decisions, writer_stop
    expect(report.unsignedTail).toBe(0);
  });

  it('a missing middle segment → records_missing for exactly its seq range', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = await writeRotating(path, 6, checkpointOptions());
    await sink.close();
    const segs = segments(path);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const middle = segs[1] as (typeof segs)[number];
    fs.rmSync(middle.path);

    for (const options of [{}, { keys }]) {
      const report = await verifyAuditTrail(path, options);
      expect(report.valid).toBe(false);
      expect(kinds(report)).toEqual(['records_missing']);
      expect(report.problems[0]).toMatchObject({
        seq: middle.firstSeq,
        seqTo: middle.records.at(-1)?.seq,
      });
    }
  });

  it('a reopened writer continues the chain in the active file after rotation', async () => {
    const path = join(dir, 'audit.jsonl');
    await (await writeRotating(path, 3)).close();
    // Rotated right after the last batch? Then the active file is empty and the chain continues
    // from the newest segment.
    await (await writeRotating(path, 3)).close();
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.lastSeq).toBe(2 * (3 * 5 + 2) - 1);
  });
});

describe('retention', () => {
  /** Ages every segment by moving the clock (Date only) an hour ahead: retentionDays 0.00001 ≈ 0.86 s. */
  function moveClockAnHourAhead() {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_600_000);
  }

  it('deletes old segments a signed checkpoint covers, never one it cannot prove covered', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = await writeRotating(path, 4, { ...checkpointOptions(), retentionDays: 0.00001 });
    const before = segments(path);
    expect(before.length).toBeGreaterThanOrEqual(3);

    moveClockAnHourAhead();
    // The next rotation signs a checkpoint, renames the active file, then applies retention.
    for (let i = 0; i < 5; i++) sink.append(decision(100 + i));
    await sink.flush();
    await sink.close();

    const after = segments(path);
    const newest = after.at(-1);
    // Only the newest segment survives: its end is not known from the names, so the sink cannot
    // prove a checkpoint covers it, however old it is.
    expect(after).toHaveLength(1);
    expect(newest?.firstSeq).toBeGreaterThan(before.at(-1)?.firstSeq ?? Number.POSITIVE_INFINITY);

    // Everything deleted lies within what a valid signed checkpoint covers.
    const report = await verifyAuditTrail(path, { keys });
    const covered = report.checkpoints.lastCoveredSeq ?? -1;
    for (const gone of before) expect(gone.records.at(-1)?.seq).toBeLessThanOrEqual(covered);
    expect(report.checkpoints.invalid).toBe(0);
    // The remaining trail is intact, and a rotation checkpoint anchors where the kept part starts
    // (its lastHash is the first kept record's prev): valid, with a notice naming the removed prefix.
    expect(kinds(report)).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.notices).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `log starts at seq ${newest?.firstSeq}: seq 0\\.\\.${(newest?.firstSeq ?? 0) - 1} were removed \\(retention\\)`,
        ),
      ),
    );
    const anchor = lines(`${path}.checkpoints`)
      .map(payloadOf)
      .find((p) => p.lastSeq === (newest?.firstSeq ?? 0) - 1);
    expect(anchor?.lastHash).toBe(newest?.records[0]?.prev);
  });

  it('without checkpoint config nothing is deleted, however old', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = await writeRotating(path, 4, { retentionDays: 0.00001 });
    const before = segments(path).map((s) => s.file);
    expect(before.length).toBeGreaterThanOrEqual(3);

    moveClockAnHourAhead();
    for (let i = 0; i < 5; i++) sink.append(decision(100 + i));
    await sink.flush();
    await sink.close();

    const after = segments(path).map((s) => s.file);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.slice(0, before.length)).toEqual(before);
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('keeps segments younger than retentionDays even when covered', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = await writeRotating(path, 5, { ...checkpointOptions(), retentionDays: 1 });
    await sink.close();
    expect(segments(path).length).toBeGreaterThanOrEqual(3);
    const report = await verifyAuditTrail(path, { keys });
    expect(report.problems).toEqual([]);
    expect(report.firstSeq).toBe(0);
  });
});

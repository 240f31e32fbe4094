/**
 * Issue 6 item 3: signed checkpoints for the PostgreSQL sink, and what the real writer does when
 * someone holding the insert-only role appends a correctly chained forged record.
 *
 * Before: `audit verify postgres://…` said VALID, the writer's next INSERT hit the primary key, the
 * next request got 200 without its decision stored, and every later request 503 until restart.
 * Now: checkpoints are signed and stored in `<table>_cp`, which the insert-only role cannot write;
 * on a conflict the writer records a signed fork marker naming the foreign rows, alarms through
 * `onError`, re-seals its pending records after them and carries on; verification flags the
 * forged rows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { ChainHead } from '../src/audit/chain.js';
import { type DecisionEvent, verifyAuditTrail } from '../src/audit/index.js';
import { type AuditSink, createPiplGuard } from '../src/index.js';
import {
  CHECKPOINT_ROLE_SQL,
  INSERT_ONLY_ROLE_SQL,
  migrateAuditTable,
  pgAuditLines,
  pgCheckpoints,
  postgresAuditSink,
} from '../src/postgres/index.js';
import { AUDIT_KEY, guardOptions, makeKeys, tokenFor } from './support/fixture.js';
import { DATABASE_URL, dropAuditTables, makePool, postgresAvailable } from './support/postgres.js';
import { runCli } from './support/processes.js';

const available = await postgresAvailable('postgres-fork.test.ts');

const run = randomBytes(4).toString('hex');
const TABLE = `pipl_audit_fork_${run}`;
const WRITER = `pipl_fork_writer_${run}`;
const CHECKPOINTER = `pipl_fork_cp_${run}`;
const KID = 'pg-audit-1';

function decision(i: number): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: { id: 'clerk-7' },
    subject: 'hmac-sha256:subject',
    method: 'GET',
    route: '/users/:id/profile',
    purpose: 'account.profile',
    categories: ['identity_basic'],
    operation: 'use',
    basis: 'consent',
    consent: { id: `c-${i}`, noticeVersion: 2 },
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer: { service: 'test', instance: 'test-1', version: '0' },
  };
}

describe.skipIf(!available)('PostgreSQL signed checkpoints and fork markers (real server)', () => {
  let admin: pg.Pool;
  let writerPool: pg.Pool; // the insert-only role: the API's credentials, and the attacker's
  let cpPool: pg.Pool; // the checkpoint role: the only one that may add checkpoints
  let signingKey: CryptoKey;
  let keys: { keys: JWK[] };

  beforeAll(async () => {
    admin = makePool();
    await migrateAuditTable(admin, TABLE);
    await admin.query(INSERT_ONLY_ROLE_SQL(WRITER, TABLE));
    await admin.query(CHECKPOINT_ROLE_SQL(CHECKPOINTER, TABLE));
    writerPool = makePool({ options: `-c role=${WRITER}` });
    cpPool = makePool({ options: `-c role=${CHECKPOINTER}` });
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    signingKey = pair.privateKey;
    keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' }] };
  });

  afterAll(async () => {
    if (!admin) return;
    await writerPool.end();
    await cpPool.end();
    await dropAuditTables(admin, [TABLE], [WRITER, CHECKPOINTER]);
    await admin.end();
  });

  function sinkOptions(chain: string, errors: Error[]) {
    return {
      pool: writerPool,
      chain,
      table: TABLE,
      onError: (error: Error) => errors.push(error),
      checkpoint: { key: signingKey, kid: KID, everyRecords: 3, everyMs: 3_600_000, pool: cpPool },
    };
  }

  /** The attacker: the insert-only role appends a correctly chained `allow` after the last row. */
  async function forgeAllow(chain: string, requestId: string): Promise<number> {
    const { rows } = await writerPool.query<{ seq_text: string; hash: string }>(
      `SELECT seq::text AS seq_text, hash FROM "${TABLE}" WHERE chain = $1 ORDER BY seq DESC LIMIT 1`,
      [chain],
    );
    const last = rows[0] as { seq_text: string; hash: string };
    const seq = Number(last.seq_text) + 1;
    const { record, line } = new ChainHead(chain, seq, last.hash).seal({ ...decision(0), requestId });
    await writerPool.query(
      `INSERT INTO "${TABLE}" (chain, seq, time, type, purpose, decision, reason, subject, hash, line)
       VALUES ($1, $2, $3, 'decision', 'account.profile', 'allow', 'consent_valid', $4, $5, $6)`,
      [chain, seq, record.time, 'hmac-sha256:victim', record.hash, line.trimEnd()],
    );
    return seq;
  }

  async function verify(chain: string) {
    const checkpoints = await pgCheckpoints(admin, { chain, table: TABLE });
    return verifyAuditTrail(pgAuditLines(admin, { chain, table: TABLE }), { keys, checkpoints });
  }

  it('signs checkpoints into <table>_cp, which the insert-only role cannot write', async () => {
    const errors: Error[] = [];
    const shipped: string[] = [];
    const options = sinkOptions('signed', errors);
    const sink = await postgresAuditSink({
      ...options,
      checkpoint: { ...options.checkpoint, onCheckpoint: ({ jws }) => void shipped.push(jws) },
    });
    for (let i = 0; i < 7; i++) await sink.append(decision(i), true);
    await sink.close();
    const checkpoints = await pgCheckpoints(admin, { chain: 'signed', table: TABLE });
    expect(shipped).toEqual(checkpoints); // shipped too, in order
    expect(checkpoints.length).toBeGreaterThanOrEqual(3); // every 3 records, and at close
    const report = await verify('signed');
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.checkpoints).toMatchObject({ invalid: 0, kids: [KID], lastCoveredSeq: 8 });
    expect(report.unsignedTail).toBe(0);
    expect(errors).toEqual([]);
    await expect(
      writerPool.query(
        `INSERT INTO "${TABLE}_cp" (chain, n, last_seq, trigger, issued_at, jws) VALUES ('signed', 99, 0, 'records', now(), 'x')`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(cpPool.query(`DELETE FROM "${TABLE}_cp"`)).rejects.toMatchObject({ code: '42501' });
  });

  it('attack: a forged allow appended with the insert-only role → signed fork marker, alarm, decisions still stored, verify INVALID', async () => {
    const errors: Error[] = [];
    const sink = await postgresAuditSink(sinkOptions('forked', errors));
    for (let i = 0; i < 3; i++) await sink.append(decision(i), true);
    const forgedSeq = await forgeAllow('forked', 'forged-1');

    // The writer's next record collides with the forged row: it must still be stored, durably.
    await sink.append(decision(10), true);
    expect(sink.healthy).toBe(true);
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(new RegExp(`seq ${forgedSeq}\\.\\.${forgedSeq} .*not written by this writer`)),
    );
    for (let i = 11; i < 14; i++) await sink.append(decision(i), true); // and it carries on
    await sink.close();

    const { rows } = await admin.query<{ line: string }>(
      `SELECT line FROM "${TABLE}" WHERE chain = 'forked' AND type = 'decision' ORDER BY seq`,
    );
    const requestIds = rows.map((row) => JSON.parse(row.line).requestId);
    expect(requestIds).toEqual([
      'req-0',
      'req-1',
      'req-2',
      'forged-1',
      'req-10',
      'req-11',
      'req-12',
      'req-13',
    ]);

    const report = await verify('forked');
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'record_forged', seq: forgedSeq, seqTo: forgedSeq }),
    ]);
    expect(report.records.invalid).toBe(1);

    // The CLI, reading checkpoints from <table>_cp with --keys, says so too.
    const keysFile = join(mkdtempSync(join(tmpdir(), 'pipl-fork-')), 'keys.json');
    writeFileSync(keysFile, JSON.stringify(keys));
    const cli = await runCli([
      'audit',
      'verify',
      DATABASE_URL,
      '--chain',
      'forked',
      '--table',
      TABLE,
      '--keys',
      keysFile,
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`seq ${forgedSeq}\\.\\.${forgedSeq} INVALID: forged`));
  });

  it('attack over HTTP: no 200 for an unstored decision, no 503 forever: every answered request has its decision stored', async () => {
    const errors: Error[] = [];
    let sink: AuditSink | undefined;
    try {
      sink = await postgresAuditSink(sinkOptions('http', errors));
      const guardKeys = await makeKeys();
      const { options } = guardOptions(guardKeys);
      // Default durability: account.profile is not sensitive, so its decisions are buffered.
      const pipl = createPiplGuard({ ...options, audit: { sink, subjectKey: AUDIT_KEY } });
      const app = express();
      app.get(
        '/users/:id/profile',
        expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      const token = await tokenFor(guardKeys);
      const answered: number[] = [];
      const call = async () => {
        const response = await request(app).get('/users/user-1/profile').set('pipl-consent', token);
        answered.push(response.status);
      };
      await call();
      await sink.flush();
      await forgeAllow('http', 'forged-http');
      for (let i = 2; i <= 6; i++) await call();
      await sink.flush();
      expect(answered).toEqual([200, 200, 200, 200, 200, 200]);
      expect(sink.healthy).toBe(true);
      expect(errors.length).toBeGreaterThan(0);

      const { rows } = await admin.query<{ line: string }>(
        `SELECT line FROM "${TABLE}" WHERE chain = 'http' AND type = 'decision' ORDER BY seq`,
      );
      const stored = rows.map((row) => JSON.parse(row.line).requestId as string);
      // Six answers, six decisions of ours stored (plus the forged one).
      expect(stored.filter((id) => id !== 'forged-http')).toHaveLength(6);
      expect(stored).toContain('forged-http');
      await pipl.close();
      const report = await verify('http');
      expect(report.valid).toBe(false);
      expect([...new Set(report.problems.map((p) => p.kind))]).toEqual(['record_forged']);
    } finally {
      await sink?.close().catch(() => {});
    }
  });

  it('a forged row appended while the writer is idle is caught by the next interval checkpoint', async () => {
    const errors: Error[] = [];
    const sink = await postgresAuditSink({
      ...sinkOptions('idle', errors),
      checkpoint: { key: signingKey, kid: KID, everyRecords: 1000, everyMs: 100, pool: cpPool },
    });
    await sink.append(decision(1), true);
    const forgedSeq = await forgeAllow('idle', 'forged-idle');
    const deadline = Date.now() + 10_000;
    while (!errors.some((e) => /not written by this writer/.test(e.message))) {
      if (Date.now() > deadline) throw new Error('no fork marker within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sink.append(decision(2), true);
    await sink.close();
    const report = await verify('idle');
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'record_forged', seq: forgedSeq, seqTo: forgedSeq }),
    ]);
  });

  it('a fourth fork within a minute (a second live writer, not one forgery) stops the sink', async () => {
    const errors: Error[] = [];
    const sink = await postgresAuditSink(sinkOptions('pingpong', errors));
    for (let round = 0; round < 3; round++) {
      await forgeAllow('pingpong', `forged-${round}`);
      await sink.append(decision(round), true); // survives: fork marker, re-sealed after the row
    }
    await forgeAllow('pingpong', 'forged-3');
    await expect(sink.append(decision(3), true)).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(sink.healthy).toBe(false);
    expect(errors.filter((e) => /not written by this writer/.test(e.message))).toHaveLength(3);
    await sink.close().catch(() => {});
  });

  it('without a checkpoint key a conflict stops the sink and onError counts the buffered records lost', async () => {
    const errors: Error[] = [];
    const sink = await postgresAuditSink({
      pool: writerPool,
      chain: 'nokey',
      table: TABLE,
      onError: (e) => errors.push(e),
    });
    await sink.append(decision(0), true);
    await forgeAllow('nokey', 'forged');
    sink.append(decision(1)); // buffered: its request was answered already
    sink.append(decision(2));
    await expect(sink.flush()).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(sink.healthy).toBe(false);
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/2 buffered audit record\(s\) of chain "nokey" cannot be stored/),
    );
    await sink.close().catch(() => {});
  });
});

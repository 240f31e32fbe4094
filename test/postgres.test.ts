import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import express from 'express';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { queryAudit } from '../src/audit/query.js';
import type { DecisionEvent } from '../src/audit/record.js';
import { verifyAuditTrail } from '../src/audit/verify-trail.js';
import { type AuditEvent, type AuditSink, createPiplGuard } from '../src/index.js';
import {
  AUDIT_TABLE_SQL,
  INSERT_ONLY_ROLE_SQL,
  migrateAuditTable,
  pgAuditLines,
  pgChains,
  postgresAuditSink,
} from '../src/postgres/index.js';
import { AUDIT_KEY, guardOptions, makeKeys, tokenFor } from './support/fixture.js';
import {
  DATABASE_URL,
  dropAuditTables,
  makePool,
  postgresAvailable,
  tamperAsOwner,
} from './support/postgres.js';
import { runCli } from './support/processes.js';

const available = await postgresAvailable('postgres.test.ts');

const run = randomBytes(4).toString('hex');
const TABLE = `pipl_audit_test_${run}`;
const ROLE = `pipl_audit_test_writer_${run}`;
const APP = `pipl-guard-test-${run}`;

function outcome(i: number, purpose = 'account.profile'): AuditEvent {
  return { type: 'outcome', requestId: `req-${i}`, purpose, status: 200, durationMs: i };
}

function decision(i: number, overrides: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: { id: 'clerk-7' },
    subject: `hmac-sha256:subject-${i % 3}`,
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
    ...overrides,
  };
}

async function verify(pool: pg.Pool, chain: string) {
  return verifyAuditTrail(pgAuditLines(pool, { chain, table: TABLE }));
}

async function types(pool: pg.Pool, chain: string): Promise<string[]> {
  const { rows } = await pool.query<{ type: string }>(
    `SELECT type FROM "${TABLE}" WHERE chain = $1 ORDER BY seq`,
    [chain],
  );
  return rows.map((row) => row.type);
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function untilAsync(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function settled(promise: Promise<unknown>): { done: boolean } {
  const state = { done: false };
  promise.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

/** A TCP proxy in front of the server that can be taken down (connections cut, port refusing) and back up. */
async function tcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const start = async () => {
    const s = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      sockets.add(client);
      sockets.add(upstream);
      const cut = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) {
        socket.on('error', cut);
        socket.on('close', cut);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
    port = (s.address() as net.AddressInfo).port;
  };
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  const url = new URL(DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), start, stop };
}

describe.skipIf(!available)('PostgreSQL audit sink (real server)', () => {
  let admin: pg.Pool;

  beforeAll(async () => {
    admin = makePool({ application_name: `${APP}-admin` });
    await migrateAuditTable(admin, TABLE);
  });

  afterAll(async () => {
    if (!admin) return;
    await dropAuditTables(admin, [TABLE], [ROLE]);
    await admin.end();
  });

  it('migrates idempotently into the documented shape and rejects unsafe table names', async () => {
    await migrateAuditTable(admin, TABLE); // second run: no error
    await Promise.all([migrateAuditTable(admin, TABLE), migrateAuditTable(admin, TABLE)]); // concurrent
    const { rows: columns } = await admin.query<{
      column_name: string;
      data_type: string;
      is_nullable: string;
    }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = $1 ORDER BY ordinal_position`,
      [TABLE],
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['chain', 'text', 'NO'],
      ['seq', 'bigint', 'NO'],
      ['time', 'timestamp with time zone', 'NO'],
      ['type', 'text', 'NO'],
      ['purpose', 'text', 'YES'],
      ['decision', 'text', 'YES'],
      ['reason', 'text', 'YES'],
      ['subject', 'text', 'YES'],
      ['hash', 'text', 'NO'],
      ['line', 'text', 'NO'],
    ]);
    const { rows: triggers } = await admin.query<{ tgname: string }>(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname`,
      [TABLE],
    );
    expect(triggers.map((t) => t.tgname)).toEqual([`${TABLE}_no_truncate`, `${TABLE}_no_update_delete`]);
    const { rows: indexes } = await admin.query<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
      [TABLE],
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      `${TABLE}_pkey`,
      `${TABLE}_purpose_idx`,
      `${TABLE}_subject_idx`,
      `${TABLE}_time_idx`,
    ]);
    for (const bad of ['audit; DROP TABLE x', 'Audit', 'public.audit', '1audit', '', 'a'.repeat(41)]) {
      expect(() => AUDIT_TABLE_SQL(bad)).toThrow(/Invalid PostgreSQL audit table name/);
    }
    expect(() => INSERT_ONLY_ROLE_SQL('bad role')).toThrow(/role name/);
  });

  it('writes batched records that verifyAuditTrail(pgAuditLines) accepts, with query columns filled', async () => {
    const pool = makePool({ application_name: APP });
    try {
      const sink = await postgresAuditSink({ pool, chain: 'basic', table: TABLE });
      for (let i = 0; i < 50; i++) sink.append(i % 2 ? decision(i) : outcome(i));
      await sink.append(decision(50, { decision: 'deny', reason: 'consent_required', status: 403 }), true);
      await sink.close();
      await sink.close(); // idempotent
      expect(sink.healthy).toBe(false);
      expect(() => sink.append(outcome(99))).toThrow(expect.objectContaining({ code: 'audit_unavailable' }));

      const report = await verify(pool, 'basic');
      expect(report.problems).toEqual([]);
      expect(report.valid).toBe(true);
      expect(report.chain).toBe('basic');
      expect(report.records.total).toBe(53); // writer_start + 51 + writer_stop
      expect(report.firstSeq).toBe(0);
      expect(report.lastSeq).toBe(52);

      const { rows } = await pool.query(
        `SELECT seq::int AS seq, type, purpose, decision, reason, subject, time, hash, line
         FROM "${TABLE}" WHERE chain = 'basic' AND seq = 52 - 1`,
      );
      const row = rows[0];
      const record = JSON.parse(row.line);
      expect(row).toMatchObject({
        type: 'decision',
        purpose: 'account.profile',
        decision: 'deny',
        reason: 'consent_required',
        subject: 'hmac-sha256:subject-2',
        hash: record.hash,
      });
      expect((row.time as Date).toISOString()).toBe(record.time);
      expect(row.line.endsWith('\n')).toBe(false);

      // queryAudit works on the same line source.
      const denied = [];
      for await (const r of queryAudit(pgAuditLines(pool, { chain: 'basic', table: TABLE }), {
        decision: 'deny',
      }))
        denied.push(r);
      expect(denied).toHaveLength(1);

      // Keyset pagination across several pages gives the same result.
      const paged = await verifyAuditTrail(pgAuditLines(pool, { chain: 'basic', table: TABLE, pageSize: 7 }));
      expect(paged.valid).toBe(true);
      expect(paged.records.total).toBe(53);
    } finally {
      await pool.end();
    }
  });

  it('keeps one chain per instance: two sinks share the table and each chain verifies', async () => {
    const poolA = makePool({ application_name: APP });
    const poolB = makePool({ application_name: APP });
    try {
      const [a, b] = await Promise.all([
        postgresAuditSink({ pool: poolA, chain: 'api-1', table: TABLE, enforcer: { instance: 'api-1' } }),
        postgresAuditSink({ pool: poolB, chain: 'api-2', table: TABLE, enforcer: { instance: 'api-2' } }),
      ]);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const sink = i % 2 ? a : b;
        const p = sink.append(decision(i), i % 10 === 0);
        if (p) writes.push(p);
      }
      await Promise.all(writes);
      await Promise.all([a.close(), b.close()]);
      const chains = await pgChains(admin, TABLE);
      expect(chains).toEqual(expect.arrayContaining(['api-1', 'api-2']));
      for (const chain of ['api-1', 'api-2']) {
        const report = await verify(admin, chain);
        expect(report.valid, JSON.stringify(report.problems)).toBe(true);
        expect(report.records.total).toBe(102);
      }
    } finally {
      await Promise.all([poolA.end(), poolB.end()]);
    }
  });

  it('rejects UPDATE, DELETE and TRUNCATE with the append-only triggers', async () => {
    const pool = makePool({ application_name: APP });
    try {
      const sink = await postgresAuditSink({ pool, chain: 'immutable', table: TABLE });
      await sink.append(outcome(1), true);
      await sink.close();
      const attempts = [
        `UPDATE "${TABLE}" SET line = 'x' WHERE chain = 'immutable'`,
        `UPDATE "${TABLE}" SET purpose = 'other' WHERE chain = 'immutable' AND seq = 1`,
        `DELETE FROM "${TABLE}" WHERE chain = 'immutable' AND seq = 2`,
        `TRUNCATE "${TABLE}"`,
      ];
      for (const sql of attempts) {
        await expect(admin.query(sql), sql).rejects.toMatchObject({
          code: '42501',
          message: expect.stringMatching(/append-only/),
        });
      }
      expect(await types(admin, 'immutable')).toEqual(['writer_start', 'outcome', 'writer_stop']);
      expect((await verify(admin, 'immutable')).valid).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('works as the insert-only role, which can neither rewrite rows nor disable the triggers', async () => {
    await admin.query(INSERT_ONLY_ROLE_SQL(ROLE, TABLE));
    await admin.query(INSERT_ONLY_ROLE_SQL(ROLE, TABLE)); // idempotent
    const pool = makePool({ application_name: APP, options: `-c role=${ROLE}` });
    try {
      const { rows } = await pool.query('SELECT current_user AS role');
      expect(rows[0].role).toBe(ROLE);
      const sink = await postgresAuditSink({ pool, chain: 'restricted', table: TABLE });
      await sink.append(decision(1), true);
      await sink.close();
      expect((await verify(pool, 'restricted')).valid).toBe(true);
      for (const sql of [
        `UPDATE "${TABLE}" SET line = 'x' WHERE chain = 'restricted'`,
        `DELETE FROM "${TABLE}" WHERE chain = 'restricted'`,
        `TRUNCATE "${TABLE}"`,
        `ALTER TABLE "${TABLE}" DISABLE TRIGGER ALL`,
        `DROP TABLE "${TABLE}"`,
      ]) {
        await expect(pool.query(sql), sql).rejects.toMatchObject({ code: '42501' });
      }
    } finally {
      await pool.end();
    }
  });

  it('continues the chain on restart and records whether the previous writer stopped cleanly', async () => {
    const pool = makePool({ application_name: APP });
    try {
      const first = await postgresAuditSink({ pool, chain: 'restart', table: TABLE });
      // More than 10 rows, so the last row is found by numeric, not text, order of seq.
      for (let i = 0; i < 11; i++) first.append(outcome(i));
      await first.close();

      const second = await postgresAuditSink({ pool, chain: 'restart', table: TABLE });
      second.append(outcome(2));
      await second.flush();
      // "Crash": the second writer never closes, so no writer_stop.

      const third = await postgresAuditSink({ pool, chain: 'restart', table: TABLE });
      await third.close();

      const { rows } = await pool.query<{ seq: string; line: string }>(
        `SELECT seq, line FROM "${TABLE}" WHERE chain = 'restart' AND type = 'writer_start' ORDER BY seq`,
      );
      expect(rows.map((r) => [Number(r.seq), JSON.parse(r.line).cleanShutdown])).toEqual([
        [0, true],
        [13, true],
        [15, false],
      ]);
      const report = await verify(pool, 'restart');
      expect(report.valid).toBe(true);
      expect(report.records.total).toBe(17);
      expect(report.notices).toEqual([expect.stringMatching(/unclean restart at seq 15/)]);
    } finally {
      await pool.end();
    }
  });

  it('resolves a durable append only once its row is committed and visible to another connection', async () => {
    const pool = makePool({ application_name: APP });
    const other = new pg.Client({ connectionString: DATABASE_URL });
    const locker = new pg.Client({ connectionString: DATABASE_URL });
    await Promise.all([other.connect(), locker.connect()]);
    try {
      const sink = await postgresAuditSink({ pool, chain: 'durable', table: TABLE });
      const visible = async () =>
        (await other.query(`SELECT count(*)::int AS n FROM "${TABLE}" WHERE chain = 'durable' AND seq = 1`))
          .rows[0].n;

      // Hold back every INSERT: SHARE mode conflicts with the INSERT's ROW EXCLUSIVE lock.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${TABLE}" IN SHARE MODE`);
      const durable = sink.append(decision(1), true) as Promise<void>;
      const state = settled(durable);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(state.done).toBe(false);
      expect(await visible()).toBe(0);
      expect(sink.append(outcome(1))).toBeUndefined(); // buffered: returns at once
      await locker.query('COMMIT');
      await durable;
      expect(await visible()).toBe(1);
      await sink.close();
      expect((await verify(pool, 'durable')).valid).toBe(true);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await Promise.all([other.end(), locker.end(), pool.end()]);
    }
  });

  it('detects tampering by a superuser who disables the triggers', async () => {
    const pool = makePool({ application_name: APP });
    try {
      const sink = await postgresAuditSink({ pool, chain: 'tamper', table: TABLE });
      for (let i = 0; i < 10; i++) sink.append(decision(i));
      await sink.close();
      expect((await verify(pool, 'tamper')).valid).toBe(true);

      await tamperAsOwner(admin, TABLE, [
        `UPDATE "${TABLE}" SET line = replace(line, '"decision":"allow"', '"decision":"deny"')
         WHERE chain = 'tamper' AND seq = 3`,
        `DELETE FROM "${TABLE}" WHERE chain = 'tamper' AND seq IN (6, 7)`,
      ]);
      // The triggers are back.
      await expect(admin.query(`DELETE FROM "${TABLE}" WHERE chain = 'tamper'`)).rejects.toMatchObject({
        code: '42501',
      });

      const report = await verify(pool, 'tamper');
      expect(report.valid).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          kind: 'record_modified',
          seq: 3,
          file: `postgres:${TABLE}/tamper`,
          line: 4,
        }),
        expect.objectContaining({ kind: 'records_missing', seq: 6, seqTo: 7 }),
      ]);

      // The compliance officer's view: the CLI on a postgres:// URL reports both and exits 1.
      const cli = await runCli(['audit', 'verify', DATABASE_URL, '--table', TABLE, '--chain', 'tamper']);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toMatch(/seq 3 INVALID: record modified/);
      expect(cli.stdout).toMatch(/seq 6\.\.7 INVALID: 2 records missing/);
      const other = await postgresAuditSink({ pool, chain: 'tamper-neighbour', table: TABLE });
      other.append(decision(0));
      await other.close();
      const neighbour = ['--table', TABLE, '--chain', 'tamper-neighbour'];
      const untouched = await runCli(['audit', 'verify', DATABASE_URL, ...neighbour]);
      expect(untouched.code).toBe(0);
      expect(untouched.stdout).toMatch(/3\/3 records valid/);
      // A mistyped chain is a usage error, never an empty "valid" log.
      const typo = await runCli(['audit', 'verify', DATABASE_URL, '--table', TABLE, '--chain', 'tamperr']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toMatch(/no chain "tamperr"/);
      // Several chains and none chosen: a usage error that names them.
      const ambiguous = await runCli(['audit', 'verify', DATABASE_URL, '--table', TABLE]);
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr).toMatch(/pick one with --chain/);
    } finally {
      await pool.end();
    }
  }, 60_000); // five CLI processes: slow on a loaded machine

  it('fails closed when its connections are killed mid-write, then retries the same batch', async () => {
    const app = `${APP}-kill`;
    const pool = makePool({ application_name: app });
    const locker = new pg.Client({ connectionString: DATABASE_URL });
    await locker.connect();
    const errors: Error[] = [];
    try {
      const sink = await postgresAuditSink({
        pool,
        chain: 'killed',
        table: TABLE,
        retryMs: 100,
        onError: (e) => errors.push(e),
      });
      await sink.append(decision(1), true);

      // Park the sink's INSERT behind a lock, then kill its backend while it waits.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${TABLE}" IN SHARE MODE`);
      const durable = sink.append(decision(2), true) as Promise<void>;
      const outcomeOf2 = durable.then(
        () => 'written',
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      expect(await outcomeOf2).toMatchObject({ code: 'audit_unavailable' });
      expect(sink.healthy).toBe(false);
      expect(() => sink.append(decision(3))).toThrow(expect.objectContaining({ code: 'audit_unavailable' }));
      sink.noteDropped('refused');
      await locker.query('COMMIT');

      await until(() => sink.healthy);
      await sink.append(decision(4), true);
      await sink.close();
      expect(errors.length).toBeGreaterThan(0);

      // The refused durable record was sealed before the failure and is written by the retry: no hole.
      const report = await verify(pool, 'killed');
      expect(report.problems).toEqual([]);
      expect(await types(pool, 'killed')).toEqual([
        'writer_start',
        'decision',
        'decision',
        'dropped',
        'decision',
        'writer_stop',
      ]);
      expect(report.notices).toEqual([expect.stringMatching(/1 decisions were not recorded .*refused/)]);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await Promise.all([locker.end(), pool.end()]);
    }
  });

  it('fails closed while the database is unreachable and recovers when it is back', async () => {
    const target = new URL(DATABASE_URL);
    const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const pool = makePool({
      connectionString: proxy.url,
      application_name: APP,
      connectionTimeoutMillis: 1000,
    });
    try {
      const sink = await postgresAuditSink({
        pool,
        chain: 'outage',
        table: TABLE,
        retryMs: 100,
        writeTimeoutMs: 2000,
      });
      for (let i = 0; i < 5; i++) sink.append(decision(i));
      await sink.flush();
      expect(sink.healthy).toBe(true);

      await proxy.stop(); // connections cut, port refuses
      const durable = sink.append(decision(5), true) as Promise<void>;
      await expect(durable).rejects.toMatchObject({ code: 'audit_unavailable' });
      expect(sink.healthy).toBe(false);
      await expect(sink.flush()).rejects.toMatchObject({ code: 'audit_unavailable' });
      // Still down after several retries: every append is refused.
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(sink.healthy).toBe(false);
      expect(() => sink.append(decision(6), true)).toThrow(
        expect.objectContaining({ code: 'audit_unavailable' }),
      );
      sink.noteDropped('refused');
      sink.noteDropped('refused');

      await proxy.start();
      await until(() => sink.healthy);
      await sink.append(decision(7), true);
      await sink.close();

      const report = await verify(admin, 'outage');
      expect(report.problems).toEqual([]);
      // writer_start, 0..4, 5 (retried), dropped, 7, writer_stop
      expect(report.records.total).toBe(10);
      expect(report.notices).toEqual([expect.stringMatching(/^seq 7: 2 decisions were not recorded/)]);
    } finally {
      await pool.end();
      await proxy.stop();
    }
  });

  it('treats a retried batch whose first INSERT did commit as written (ambiguous commit)', async () => {
    const pool = makePool({ application_name: APP });
    let loseNextAnswer = false;
    // Commits the INSERT, then reports a lost connection: the sink cannot know it was written.
    const flaky = new Proxy(pool, {
      get(target, key) {
        if (key !== 'query') return Reflect.get(target, key);
        return async (...args: Parameters<pg.Pool['query']>) => {
          const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (loseNextAnswer && String(args[0]).startsWith('INSERT')) {
            loseNextAnswer = false;
            throw new Error('Connection terminated unexpectedly');
          }
          return result;
        };
      },
    });
    try {
      const sink = await postgresAuditSink({ pool: flaky, chain: 'ambiguous', table: TABLE, retryMs: 50 });
      loseNextAnswer = true;
      await expect(sink.append(decision(1), true)).rejects.toMatchObject({ code: 'audit_unavailable' });
      expect(sink.healthy).toBe(false);
      await until(() => sink.healthy); // retry hits 23505, finds its own hashes, moves on
      await sink.append(decision(2), true);
      await sink.close();
      const report = await verify(pool, 'ambiguous');
      expect(report.problems).toEqual([]);
      expect(report.records.total).toBe(4);
    } finally {
      await pool.end();
    }
  });

  it('stops a second live writer on the same chain instead of forking it', async () => {
    const pool = makePool({ application_name: APP });
    const errors: Error[] = [];
    try {
      const a = await postgresAuditSink({
        pool,
        chain: 'shared',
        table: TABLE,
        onError: (e) => errors.push(e),
      });
      const b = await postgresAuditSink({ pool, chain: 'shared', table: TABLE }); // takes seq 1
      await expect(a.append(decision(1), true)).rejects.toMatchObject({
        code: 'audit_unavailable',
        message: expect.stringMatching(/another writer uses the same chain name/),
      });
      expect(a.healthy).toBe(false);
      expect(errors[0]?.message).toMatch(/another writer/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(a.healthy).toBe(false); // no point retrying
      await expect(a.close()).rejects.toMatchObject({ code: 'audit_unavailable' });
      await b.append(decision(2), true);
      await b.close();
      const report = await verify(pool, 'shared');
      expect(report.problems).toEqual([]);
      expect(await types(pool, 'shared')).toEqual([
        'writer_start',
        'writer_start',
        'decision',
        'writer_stop',
      ]);
    } finally {
      await pool.end();
    }
  });

  it('refuses records when the queue is full and accounts for them once it drains', async () => {
    const pool = makePool({ application_name: APP });
    try {
      const sink = await postgresAuditSink({ pool, chain: 'full', table: TABLE, maxQueueRecords: 5 });
      let refused = 0;
      for (let i = 0; i < 8; i++) {
        try {
          sink.append(decision(i));
        } catch (error) {
          expect(error).toMatchObject({ code: 'audit_unavailable', message: /queue is full/ });
          sink.noteDropped('queue_full');
          refused++;
        }
      }
      expect(refused).toBe(3);
      await sink.flush();
      await sink.append(decision(9), true);
      await sink.close();
      const report = await verify(pool, 'full');
      expect(report.valid).toBe(true);
      expect(report.notices).toEqual([expect.stringMatching(/3 decisions were not recorded .*queue_full/)]);
    } finally {
      await pool.end();
    }
  });

  it('reports start-up problems as configuration errors and owns a pool made from connectionString', async () => {
    await expect(postgresAuditSink({ pool: admin, chain: '', table: TABLE })).rejects.toThrow(/chain/);
    await expect(postgresAuditSink({ pool: admin, chain: 'x', table: 'no such' })).rejects.toThrow(
      /Invalid PostgreSQL audit table name/,
    );
    await expect(
      postgresAuditSink({ connectionString: DATABASE_URL, chain: 'x', table: `${TABLE}_missing` }),
    ).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringMatching(/migrateAuditTable/) });

    const sink = await postgresAuditSink({ connectionString: DATABASE_URL, chain: 'own-pool', table: TABLE });
    await sink.append(outcome(1), true);
    await sink.close();
    // Its pool was ended: the backends go away (asynchronously on the server side).
    await untilAsync(async () => {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pipl-guard:own-pool'",
      );
      return rows[0].n === 0;
    });
    expect((await verify(admin, 'own-pool')).valid).toBe(true);
  });

  it('records a guarded Express request through createPiplGuard', async () => {
    const pool = makePool({ application_name: APP });
    let sink: AuditSink | undefined;
    try {
      sink = await postgresAuditSink({ pool, chain: 'guard', table: TABLE });
      const keys = await makeKeys();
      const { options } = guardOptions(keys);
      const pipl = createPiplGuard({ ...options, audit: { sink, subjectKey: AUDIT_KEY, durable: 'always' } });
      const guard = expressGuard(pipl);
      const app = express();
      app.get(
        '/users/:id/profile',
        guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      const response = await request(app)
        .get('/users/user-1/profile')
        .set('pipl-consent', await tokenFor(keys));
      expect(response.status).toBe(200);
      const requestId = response.headers['x-request-id'] ?? undefined;
      await sink.flush();
      const { rows } = await admin.query(
        `SELECT type, purpose, decision, reason, subject, line FROM "${TABLE}" WHERE chain = 'guard' ORDER BY seq`,
      );
      // The guard logs its policy once when it starts (Art. 69), before the first decision.
      expect(rows.map((r) => r.type)).toEqual(['writer_start', 'policy', 'decision', 'outcome']);
      expect(rows[2]).toMatchObject({
        purpose: 'account.profile',
        decision: 'allow',
        reason: 'consent_valid',
        subject: expect.stringMatching(/^hmac-sha256:/),
      });
      if (requestId) expect(JSON.parse(rows[2].line).requestId).toBe(requestId);
      await pipl.close();
      expect((await verify(admin, 'guard')).valid).toBe(true);
      expect(await types(admin, 'guard')).toEqual([
        'writer_start',
        'policy',
        'decision',
        'outcome',
        'writer_stop',
      ]);
    } finally {
      await sink?.close().catch(() => {});
      await pool.end();
    }
  });
});

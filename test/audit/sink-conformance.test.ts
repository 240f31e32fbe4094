/**
 * One conformance suite for every audit sink (memory, file, PostgreSQL, and `chainedAuditSink` on
 * the object-store example of examples/custom-sink.ts), which all share the batch writer
 * (src/audit/batch-writer.ts): close, durable appends, a full queue, a failing store and its retry,
 * and a crash. Failures are real:
 *
 * - file: RLIMIT_FSIZE of this test process lowered with `prlimit` to the log's current size, so the
 *   next write() fails with EFBIG (Node ignores SIGXFSZ); raising it again is "space freed".
 * - PostgreSQL: the test's own uniquely named table is renamed away (INSERT fails: 42P01) and back.
 *   The shared server is never touched otherwise. Retries run on real timers (retryMs 25): the pg
 *   client's own timers must run, so setTimeout cannot be faked here.
 * - custom store: its directory is moved away and a plain file put in its place (ENOTDIR), then
 *   moved back.
 * - memory: no I/O that can fail, no queue, nothing survives a crash: those cases are skipped for it
 *   (said on each line).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { directoryLines, directoryStore } from '../../examples/custom-sink.js';
import { chainedAuditSink } from '../../src/audit/chained-sink.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import { memoryAuditSink } from '../../src/audit/memory-sink.js';
import type { AuditEvent, AuditRecord } from '../../src/audit/record.js';
import type { AuditSink } from '../../src/audit/sink.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { migrateAuditTable } from '../../src/postgres/migration.js';
import { pgAuditLines } from '../../src/postgres/read.js';
import { postgresAuditSink } from '../../src/postgres/sink.js';
import { DATABASE_URL, dropAuditTables, makePool, postgresAvailable } from '../support/postgres.js';

const pgAvailable = await postgresAvailable('sink-conformance: the PostgreSQL cases');
const prlimitAvailable = (() => {
  try {
    execFileSync('prlimit', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const run = randomBytes(4).toString('hex');
const TABLE = `pipl_conformance_${run}`;
const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-conformance-'));
const RETRY_MS = 25;

interface OpenOptions {
  chain: string;
  maxQueueRecords?: number;
}

interface Harness {
  name: string;
  /** Skip reason for cases this sink cannot take part in (`undefined`: it can). */
  noFailures?: string;
  noQueue?: string;
  noCrash?: string;
  open(options: OpenOptions): Promise<AuditSink>;
  /** Stored records of a chain, in order, and the verifier's verdict over them. */
  stored(chain: string, sink: AuditSink): Promise<{ records: AuditRecord[]; valid: boolean }>;
  breakIo?(chain: string): Promise<void>;
  repairIo?(chain: string): Promise<void>;
  crashChild?(chain: string): string[];
}

let pool: pg.Pool | undefined;

const fileHarness: Harness = {
  name: 'file',
  noFailures: prlimitAvailable ? undefined : 'prlimit is not installed',
  open: async ({ chain, maxQueueRecords }) =>
    fileAuditSink({
      path: join(dir, `${chain}.jsonl`),
      chain,
      retryMs: RETRY_MS,
      ...(maxQueueRecords ? { maxQueueRecords } : {}),
    }),
  async stored(chain) {
    const path = join(dir, `${chain}.jsonl`);
    const lines = fs.readFileSync(path, 'utf8').split('\n').filter(Boolean);
    return { records: lines.map((line) => JSON.parse(line)), valid: (await verifyAuditTrail(path)).valid };
  },
  async breakIo(chain) {
    const size = fs.statSync(join(dir, `${chain}.jsonl`)).size;
    execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${size}:`]);
  },
  async repairIo() {
    execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:']);
  },
  crashChild: (chain) => ['file', join(dir, `${chain}.jsonl`), chain],
};

const postgresHarness: Harness = {
  name: 'postgres',
  open: ({ chain, maxQueueRecords }) =>
    postgresAuditSink({
      pool: pool as pg.Pool,
      table: TABLE,
      chain,
      retryMs: RETRY_MS,
      writeTimeoutMs: 5000,
      ...(maxQueueRecords ? { maxQueueRecords } : {}),
    }),
  async stored(chain) {
    const { rows } = await (pool as pg.Pool).query<{ line: string }>(
      `SELECT line FROM "${TABLE}" WHERE chain = $1 ORDER BY seq`,
      [chain],
    );
    const report = await verifyAuditTrail(pgAuditLines(pool as pg.Pool, { chain, table: TABLE }));
    return { records: rows.map((row) => JSON.parse(row.line)), valid: report.valid };
  },
  async breakIo() {
    await (pool as pg.Pool).query(`ALTER TABLE "${TABLE}" RENAME TO "${TABLE}_off"`);
  },
  async repairIo() {
    await (pool as pg.Pool).query(`ALTER TABLE "${TABLE}_off" RENAME TO "${TABLE}"`);
  },
  crashChild: (chain) => ['postgres', TABLE, chain],
};

const customHarness: Harness = {
  name: 'custom store',
  open: ({ chain, maxQueueRecords }) =>
    chainedAuditSink(directoryStore(join(dir, chain)), {
      chain,
      retryMs: RETRY_MS,
      ...(maxQueueRecords ? { maxQueueRecords } : {}),
    }),
  async stored(chain) {
    const records: AuditRecord[] = [];
    for await (const line of directoryLines(join(dir, chain))) records.push(JSON.parse(line.text));
    return { records, valid: (await verifyAuditTrail(directoryLines(join(dir, chain)))).valid };
  },
  async breakIo(chain) {
    fs.renameSync(join(dir, chain), join(dir, `${chain}.off`));
    fs.writeFileSync(join(dir, chain), 'not a directory');
  },
  async repairIo(chain) {
    fs.rmSync(join(dir, chain));
    fs.renameSync(join(dir, `${chain}.off`), join(dir, chain));
  },
  crashChild: (chain) => ['custom', join(dir, chain), chain],
};

const memorySinks = new Map<string, ReturnType<typeof memoryAuditSink>>();
const memoryHarness: Harness = {
  name: 'memory',
  noFailures: 'the memory sink has no I/O that can fail',
  noQueue: 'the memory sink stores on append: it has no queue to fill',
  noCrash: 'nothing in memory survives a crash, by design',
  async open({ chain }) {
    const sink = memoryAuditSink({ chain });
    memorySinks.set(chain, sink);
    return sink;
  },
  async stored(chain) {
    const sink = memorySinks.get(chain) as ReturnType<typeof memoryAuditSink>;
    const path = join(dir, `memory-${chain}.jsonl`);
    fs.writeFileSync(path, sink.lines.join(''));
    return { records: [...sink.records], valid: (await verifyAuditTrail(path)).valid };
  },
};

const outcome = (id: string): AuditEvent => ({
  type: 'outcome',
  requestId: id,
  purpose: 'account.profile',
  status: 200,
  durationMs: 1,
});
/** Title suffix that says why a case is skipped for a sink. */
const skipped = (reason: string | undefined) => (reason ? ` — skipped: ${reason}` : '');
const ids = (records: AuditRecord[]) =>
  records.filter((r) => r.type === 'outcome').map((r) => (r as { requestId: string }).requestId);

beforeAll(async () => {
  if (!pgAvailable) return;
  pool = makePool();
  await migrateAuditTable(pool, TABLE);
});

afterAll(async () => {
  if (prlimitAvailable) execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:']);
  if (pool) {
    await dropAuditTables(pool, [TABLE, `${TABLE}_off`]);
    await pool.end();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const harnesses = [memoryHarness, fileHarness, customHarness, ...(pgAvailable ? [postgresHarness] : [])];

describe.each(harnesses)('$name sink', (h) => {
  const chain = (what: string) => `${h.name}-${what}-${run}`;

  it('close: everything appended is stored, writer_stop last, the chain verifies; later appends are refused', async () => {
    const name = chain('close');
    const sink = await h.open({ chain: name });
    for (let i = 0; i < 30; i++) sink.append(outcome(`r-${i}`));
    await sink.close();
    await sink.close(); // idempotent
    expect(sink.healthy).toBe(false);
    expect(() => sink.append(outcome('late'))).toThrow(
      expect.objectContaining({ code: 'audit_unavailable' }),
    );
    const { records, valid } = await h.stored(name, sink);
    expect(valid).toBe(true);
    expect(ids(records)).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i}`));
    expect(records.at(-1)?.type).toBe(h.name === 'memory' ? 'outcome' : 'writer_stop');
  });

  it('a durable append resolves only once its record is stored; concurrent ones share batches', async () => {
    const name = chain('durable');
    const sink = await h.open({ chain: name });
    await Promise.all(Array.from({ length: 20 }, (_, i) => sink.append(outcome(`d-${i}`), true)));
    const { records } = await h.stored(name, sink);
    expect(ids(records)).toEqual(Array.from({ length: 20 }, (_, i) => `d-${i}`));
    await sink.close();
  });

  it.skipIf(h.noQueue)(
    `full queue: refuses with audit_unavailable, then a dropped marker accounts for what was refused${skipped(h.noQueue)}`,
    async () => {
      const name = chain('full');
      const sink = await h.open({ chain: name, maxQueueRecords: 5 });
      for (let i = 0; i < 5; i++) sink.append(outcome(`q-${i}`));
      expect(() => sink.append(outcome('q-over'))).toThrow(
        expect.objectContaining({ code: 'audit_unavailable', message: 'The audit write queue is full' }),
      );
      sink.noteDropped('refused');
      await sink.flush();
      sink.append(outcome('q-after'));
      await sink.close();
      const { records, valid } = await h.stored(name, sink);
      expect(valid).toBe(true);
      const types = records.map((r) => r.type);
      // The marker is sealed just before the first record accepted after the refusal.
      expect(types.indexOf('dropped')).toBe(types.lastIndexOf('outcome') - 1);
      expect(ids(records)).toEqual(['q-0', 'q-1', 'q-2', 'q-3', 'q-4', 'q-after']);
      expect(records.find((r) => r.type === 'dropped')).toMatchObject({ count: 1, cause: 'refused' });
    },
  );

  it.skipIf(h.noFailures)(
    `failing store: unhealthy and refusing, durable appends rejected; the same batch is retried and the chain has no gap${skipped(h.noFailures)}`,
    async () => {
      const name = chain('retry');
      const sink = await h.open({ chain: name });
      await sink.append(outcome('before'), true);
      await h.breakIo?.(name);
      try {
        await expect(sink.append(outcome('during'), true)).rejects.toMatchObject({
          code: 'audit_unavailable',
        });
        expect(sink.healthy).toBe(false);
        expect(() => sink.append(outcome('refused'))).toThrow(
          expect.objectContaining({ code: 'audit_unavailable' }),
        );
        await expect(sink.flush()).rejects.toMatchObject({ code: 'audit_unavailable' });
        sink.noteDropped('refused');
      } finally {
        await h.repairIo?.(name);
      }
      await vi.waitFor(() => expect(sink.healthy).toBe(true), { timeout: 5000, interval: 10 });
      await sink.append(outcome('after'), true);
      await sink.close();
      const { records, valid } = await h.stored(name, sink);
      expect(valid).toBe(true);
      // The rejected record was sealed: it is stored (once) by the retry, then the dropped marker.
      expect(ids(records)).toEqual(['before', 'during', 'after']);
      expect(records.filter((r) => r.type === 'dropped')).toHaveLength(1);
    },
  );

  it.skipIf(h.noCrash)(
    `crash (SIGKILL): every acknowledged durable record survives, the next writer notes the unclean stop${skipped(h.noCrash)}`,
    async () => {
      const name = chain('crash');
      const tsx = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).pathname;
      const child = new URL('../support/sink-crash-child.ts', import.meta.url).pathname;
      const result = await promisify(execFile)(
        process.execPath,
        ['--import', tsx, child, ...(h.crashChild?.(name) ?? [])],
        { env: { ...process.env, DATABASE_URL } },
      ).catch((error: { stdout: string; signal: string }) => error);
      expect(result).toMatchObject({ signal: 'SIGKILL' });
      const acked = (result as { stdout: string }).stdout
        .split('\n')
        .filter((line) => line.startsWith('acked '))
        .map((line) => line.slice(6));
      expect(acked).toHaveLength(20);
      const sink = await h.open({ chain: name });
      await sink.close();
      const { records, valid } = await h.stored(name, sink);
      expect(valid).toBe(true);
      const stored = ids(records);
      for (const id of acked) expect(stored).toContain(id);
      const restarts = records.filter((r) => r.type === 'writer_start');
      expect(restarts.at(-1)).toMatchObject({ cleanShutdown: false });
    },
  );
});

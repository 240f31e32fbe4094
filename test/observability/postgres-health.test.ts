/**
 * Sink-health events and queue depth from the PostgreSQL sink, against the real (shared) server:
 * a table of its own, and an outage made by a TCP proxy in front of it that this test cuts and
 * restores (the shared server itself is never touched).
 */
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_CHANNEL, type AuditHealthMessage } from '../../src/diagnostics/index.js';
import { migrateAuditTable, postgresAuditSink } from '../../src/postgres/index.js';
import { DATABASE_URL, dropAuditTables, makePool, postgresAvailable } from '../support/postgres.js';

const available = await postgresAvailable('postgres-health.test.ts');

const run = randomBytes(4).toString('hex');
const TABLE = `pipl_audit_obs_${run}`;
const admin = makePool({ max: 1 });
const upstream = new URL(DATABASE_URL);

/** A TCP proxy to the database that can be cut (every connection dropped, new ones refused) and restored. */
async function cuttableProxy() {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const backend = net.connect(Number(upstream.port || 5432), upstream.hostname);
    for (const socket of [client, backend]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(backend).pipe(client);
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
afterAll(async () => {
  if (available) await dropAuditTables(admin, [TABLE]).catch(() => {});
  await admin.end();
});

describe.skipIf(!available)('pipl-guard:audit (PostgreSQL sink)', () => {
  it('reports batches, a failed INSERT, the retry and the recovery; queueDepth counts what waits', async () => {
    const health: AuditHealthMessage[] = [];
    const onMessage = (message: unknown) => health.push(message as AuditHealthMessage);
    subscribe(AUDIT_CHANNEL, onMessage);
    const proxy = await cuttableProxy();
    const pool = new pg.Pool({ connectionString: proxy.url, max: 2 });
    pool.on('error', () => {});
    try {
      await migrateAuditTable(admin, TABLE);
      const sink = await postgresAuditSink({ pool, chain: 'obs', table: TABLE, retryMs: 50 });
      const event = (i: number) =>
        ({ type: 'outcome', requestId: `r${i}`, purpose: 'p', status: 200, durationMs: 1 }) as const;
      for (let i = 0; i < 5; i++) sink.append(event(i));
      expect(sink.queueDepth).toBe(5);
      await sink.flush();
      expect(sink.queueDepth).toBe(0);
      const written = health.filter((h) => h.event === 'batch_written' && h.sink === 'postgres');
      expect(written.reduce((sum, h) => sum + (h.records ?? 0), 0)).toBe(5);
      expect(written[0]).toMatchObject({ chain: 'obs' });

      // An outage of this sink only: the proxy drops its connections and refuses new ones.
      proxy.cut();
      sink.append(event(5));
      await vi.waitFor(() => expect(health.some((h) => h.event === 'write_failed')).toBe(true), {
        timeout: 5000,
        interval: 20,
      });
      expect(sink.healthy).toBe(false);
      proxy.restore();
      await vi.waitFor(() => expect(health.some((h) => h.event === 'recovered')).toBe(true), {
        timeout: 5000,
        interval: 20,
      });
      const events = health.map((h) => h.event);
      expect(events.indexOf('retry')).toBeGreaterThan(events.indexOf('write_failed'));
      expect(events.indexOf('recovered')).toBeGreaterThan(events.indexOf('retry'));
      expect(health.find((h) => h.event === 'write_failed')).toMatchObject({
        sink: 'postgres',
        chain: 'obs',
        error: { message: expect.any(String) },
      });
      await sink.close();
    } finally {
      unsubscribe(AUDIT_CHANNEL, onMessage);
      await pool.end();
      await proxy.close();
    }
  });
});

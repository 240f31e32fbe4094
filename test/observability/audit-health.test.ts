/**
 * `pipl-guard:audit` from the file sink: written batches, checkpoints shipped or failed, and a real
 * full disk (tmpfs) for failure, retry and recovery. The PostgreSQL sink: postgres-health.test.ts.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_CHANNEL, type AuditHealthMessage } from '../../src/diagnostics/index.js';
import { fileAuditSink } from '../../src/index.js';
import { canMountTmpfs, fullDisk } from './full-disk.js';

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});
function collect<T>(name: string): T[] {
  const messages: T[] = [];
  const onMessage = (message: unknown) => messages.push(message as T);
  subscribe(name, onMessage);
  stops.push(() => unsubscribe(name, onMessage));
  return messages;
}

describe('pipl-guard:audit (file sink)', () => {
  const decision = (n: number) =>
    ({
      type: 'outcome',
      requestId: `r-${n}`,
      purpose: 'order.fulfilment',
      status: 200,
      durationMs: 1,
    }) as const;

  it('reports written batches with their size, and checkpoints shipped or failed', async () => {
    const health = collect<AuditHealthMessage>(AUDIT_CHANNEL);
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-diag-'));
    const { privateKey } = await generateKeyPair('EdDSA');
    let ship = true;
    const sink = fileAuditSink({
      path: join(dir, 'audit.jsonl'),
      chain: 'diag',
      checkpoint: {
        key: privateKey,
        kid: 'k1',
        everyRecords: 1_000_000,
        everyMs: 3_600_000,
        onCheckpoint: () => {
          if (!ship) throw new Error('SIEM unreachable');
        },
        shipping: { attempts: 1 },
      },
    });
    for (let i = 0; i < 5; i++) sink.append(decision(i));
    expect(sink.queueDepth).toBe(5);
    await sink.flush();
    expect(sink.queueDepth).toBe(0);
    const batches = health.filter((h) => h.event === 'batch_written');
    expect(batches.reduce((sum, b) => sum + (b.records ?? 0), 0)).toBe(5);
    expect(batches[0]).toMatchObject({ sink: 'file', chain: 'diag' });

    ship = false;
    // Shipping runs off the write path: close() succeeds, and the failure is published.
    await sink.close();
    expect(health.find((h) => h.event === 'checkpoint_failed')).toMatchObject({
      event: 'checkpoint_failed',
      chain: 'diag',
      error: { name: 'Error', message: 'SIEM unreachable' },
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a checkpoint handed to onCheckpoint', async () => {
    const health = collect<AuditHealthMessage>(AUDIT_CHANNEL);
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-diag-'));
    const { privateKey } = await generateKeyPair('EdDSA');
    const shipped: string[] = [];
    const sink = fileAuditSink({
      path: join(dir, 'audit.jsonl'),
      chain: 'diag-2',
      checkpoint: {
        key: privateKey,
        kid: 'k1',
        everyMs: 3_600_000,
        onCheckpoint: (c) => void shipped.push(c.jws),
      },
    });
    sink.append(decision(1));
    await sink.close();
    expect(shipped).toHaveLength(1);
    expect(health.filter((h) => h.event === 'checkpoint_shipped')).toEqual([
      { event: 'checkpoint_shipped', sink: 'file', chain: 'diag-2' },
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const _root = process.getuid?.() === 0;
  it.skipIf(!canMountTmpfs)(
    'reports a failed write, the retry and the recovery on a real full disk (needs root for tmpfs)',
    async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const disk = fullDisk();
      try {
        const health = collect<AuditHealthMessage>(AUDIT_CHANNEL);
        const sink = fileAuditSink({ path: join(disk.dir, 'audit.jsonl'), chain: 'full', retryMs: 1000 });
        disk.fill();
        let n = 0;
        while (sink.healthy && n < 10_000) {
          for (let i = 0; i < 50; i++) sink.append(decision(n++));
          await sink.flush().catch(() => {});
        }
        expect(sink.healthy).toBe(false);
        const failed = health.find((h) => h.event === 'write_failed');
        expect(failed).toMatchObject({ sink: 'file', chain: 'full', error: { code: 'ENOSPC' } });

        disk.free();
        const recovered = new Promise<void>((resolve) => {
          const onMessage = (message: unknown) => {
            if ((message as AuditHealthMessage).event === 'recovered') {
              unsubscribe(AUDIT_CHANNEL, onMessage);
              resolve();
            }
          };
          subscribe(AUDIT_CHANNEL, onMessage);
        });
        vi.advanceTimersByTime(1000);
        await recovered;
        expect(sink.healthy).toBe(true);
        const events = health.map((h) => h.event);
        expect(events.indexOf('retry')).toBeGreaterThan(events.indexOf('write_failed'));
        expect(events.indexOf('recovered')).toBeGreaterThan(events.indexOf('retry'));
        await sink.close();
      } finally {
        vi.useRealTimers();
        disk.dispose();
      }
    },
  );
});

import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type BatchWriterOptions, createBatchWriter } from '../../src/audit/batch-writer.js';
import type { AuditEvent } from '../../src/audit/record.js';

const enforcer = { service: 'test', instance: 'test-1', version: '0' };
const outcome = (id: string): AuditEvent => ({
  type: 'outcome',
  requestId: id,
  purpose: 'p',
  status: 200,
  durationMs: 0,
});
const idOf = (event: AuditEvent) => (event as { requestId?: string }).requestId ?? event.type;

/** A writer over an array: each stored batch is kept, in order, so batching is visible. */
function writerOver(options: Partial<BatchWriterOptions<string>> = {}) {
  const batches: string[][] = [];
  const writer = createBatchWriter<string>({
    enforcer,
    seal: idOf,
    async write(batch) {
      batches.push([...batch]);
    },
    ...options,
  });
  return { writer, batches };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createBatchWriter: coalescing', () => {
  it('buffered appends spread over several event-loop turns go out as one batch after the bounded delay', async () => {
    const { writer, batches } = writerOver({ coalesce: { delayMs: 30, records: 1000 } });
    for (let i = 0; i < 10; i++) {
      writer.append(outcome(`b-${i}`));
      await turn(); // a server answers other requests between appends
    }
    expect(batches).toEqual([]); // still gathering (without coalescing each turn wrote a batch)
    await sleep(60);
    expect(batches).toEqual([Array.from({ length: 10 }, (_, i) => `b-${i}`)]);
  });

  it('writes at once when enough records are queued', async () => {
    const { writer, batches } = writerOver({ coalesce: { delayMs: 10_000, records: 4 } });
    for (let i = 0; i < 4; i++) writer.append(outcome(`n-${i}`));
    await turn();
    await turn();
    expect(batches).toEqual([['n-0', 'n-1', 'n-2', 'n-3']]);
  });

  it('a durable append and a flush do not wait for the delay, and take the buffered records with them', async () => {
    const { writer, batches } = writerOver({ coalesce: { delayMs: 10_000, records: 1000 } });
    writer.append(outcome('b-1'));
    await writer.append(outcome('d-1'), true);
    expect(batches).toEqual([['b-1', 'd-1']]);
    writer.append(outcome('b-2'));
    await writer.flush();
    expect(batches).toEqual([['b-1', 'd-1'], ['b-2']]);
  });

  it('coalesce: false writes as soon as the event loop is free', async () => {
    const { writer, batches } = writerOver({ coalesce: false });
    writer.append(outcome('x'));
    await turn();
    await turn();
    expect(batches).toEqual([['x']]);
  });

  it('splits the queue into batches of at most maxBatchRecords, in order', async () => {
    const { writer, batches } = writerOver({ maxBatchRecords: 3 });
    for (let i = 0; i < 7; i++) writer.append(outcome(`m-${i}`));
    await writer.flush();
    expect(batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(batches.flat()).toEqual(Array.from({ length: 7 }, (_, i) => `m-${i}`));
  });
});

describe('createBatchWriter: failures', () => {
  it('retries the very same batch array after a failure, then seals the dropped marker', async () => {
    const attempts: (readonly string[])[] = [];
    let failing = true;
    const errors: string[] = [];
    const writer = createBatchWriter<string>({
      enforcer,
      seal: idOf,
      retryMs: 5,
      onError: (error) => errors.push(error.message),
      async write(batch) {
        attempts.push(batch);
        if (failing) throw new Error('disk full');
      },
    });
    await expect(writer.append(outcome('a'), true)).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(writer.healthy).toBe(false);
    writer.noteDropped('refused');
    failing = false;
    await vi_waitFor(() => writer.healthy);
    await writer.flush();
    expect(attempts[0]).toBe(attempts[1]); // same array: a sink can resume where it stopped
    expect(attempts.at(-1)).toEqual(['dropped']);
    expect(errors).toEqual(['disk full']);
  });

  it('a fatal failure is not retried; buffered records that cannot be stored are counted', async () => {
    const losses: number[] = [];
    let writes = 0;
    const writer = createBatchWriter<string>({
      enforcer,
      seal: idOf,
      retryMs: 1,
      coalesce: false,
      isFatal: () => true,
      onFatalLoss: (count) => losses.push(count),
      async write() {
        writes++;
        throw new Error('another writer holds this chain');
      },
    });
    writer.append(outcome('b-1'));
    writer.append(outcome('b-2'));
    await expect(writer.append(outcome('d'), true)).rejects.toThrow('another writer holds this chain');
    await sleep(20);
    expect(writes).toBe(1);
    expect(losses).toEqual([2]);
    expect(() => writer.append(outcome('x'))).toThrow('another writer holds this chain');
    await expect(writer.stop(outcome('stop'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  });
});

async function vi_waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(2);
  expect(condition()).toBe(true);
}

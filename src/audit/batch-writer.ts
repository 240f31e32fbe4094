import { setTimeout as coalesceTimer } from 'node:timers';
import { PiplGuardError } from '../errors/errors.js';
import type { BatchWriter, BatchWriterEvent, BatchWriterOptions } from './batch-writer-types.js';
import { DropCounter } from './sink.js';

export type { BatchWriter, BatchWriterEvent, BatchWriterOptions } from './batch-writer-types.js';

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** A durable append waiting for the batch that holds its record (`at`: the record's position). */
interface DurableWaiter extends Waiter {
  at: number;
}

/**
 * Creates the write queue of an audit sink, leaving the sink only its I/O (`seal`, `write`).
 *
 * Records are sealed on the caller's thread and queued. One drain loop writes them in batches:
 * everything queued while a write is in flight goes into the next one, and a durable append
 * resolves after its batch is stored, so concurrent durable appends share one sync (group commit).
 * Buffered appends are coalesced: a batch waits a few milliseconds (bounded by `coalesce.delayMs`)
 * unless enough records are queued or someone waits for it.
 *
 * A failed write fails the writer: `healthy` turns false, `append` throws `audit_unavailable` (guards
 * answer 503), durable appends waiting are rejected, and the same batch is retried every `retryMs`;
 * nothing sealed is skipped, so the chain has no holes. Records a fail-open purpose could not log
 * meanwhile are counted (`noteDropped`) and a `dropped` marker is sealed on recovery.
 *
 * @example
 * ```ts
 * import { createBatchWriter } from 'pipl-guard/audit';
 * const writer = createBatchWriter({
 *   enforcer: { service: 'api', instance: 'api-1', version: '1.0.0' },
 *   seal: (event) => head.seal(event).line, // your chain head
 *   write: async (lines, durable) => {
 *     await store.append(lines.join(''));
 *     if (durable) await store.sync();
 *   },
 * });
 * const sink = {
 *   get healthy() { return writer.healthy; },
 *   append: writer.append,
 *   noteDropped: writer.noteDropped,
 *   flush: writer.flush,
 *   close: () => writer.stop({ type: 'writer_stop', enforcer }),
 * };
 * ```
 */
export function createBatchWriter<T>(options: BatchWriterOptions<T>): BatchWriter<T> {
  const maxRecords = options.maxQueueRecords ?? 10_000;
  const maxBytes = options.maxQueueBytes ?? Number.POSITIVE_INFINITY;
  const maxBatch = options.maxBatchRecords ?? Number.POSITIVE_INFINITY;
  const retryMs = options.retryMs ?? 1000;
  const delayMs = options.coalesce === false ? 0 : (options.coalesce?.delayMs ?? 4);
  const coalesceRecords = options.coalesce === false ? 1 : (options.coalesce?.records ?? 256);
  const sizeOf = options.bytes;
  const seal = options.seal;
  const enforcer = options.enforcer;
  const report = (event: BatchWriterEvent, detail?: number | Error) => {
    try {
      options.onEvent?.(event, detail);
    } catch {
      // A throwing observer must not break the write loop.
    }
  };
  const onError = (error: Error) => {
    try {
      options.onError?.(error);
    } catch {
      // A throwing error hook must not break the write loop.
    }
  };

  let queue: T[] = [];
  let queuedBytes = 0;
  /** Records appended so far: positions for the durable waiters. */
  let appended = 0;
  /** Records taken into batches so far. */
  let taken = 0;
  let waiters: DurableWaiter[] = [];
  let idleWaiters: Waiter[] = [];
  let inflight: { items: T[]; waiters: DurableWaiter[] } | undefined;
  let writing = false;
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let failure: Error | undefined;
  let fatal = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let recovering: Promise<void> | undefined;
  const drops = new DropCounter();

  const unavailable = (why: string) => new PiplGuardError('audit_unavailable', why);
  const failureMessage = () =>
    fatal && failure ? failure.message : 'The audit log cannot be written; retrying';

  function push(item: T): void {
    queue.push(item);
    appended++;
    if (sizeOf) queuedBytes += sizeOf(item);
  }

  function scheduleNow(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (scheduled || writing || failure) return;
    scheduled = true;
    setImmediate(drain);
  }

  function scheduleBuffered(): void {
    if (scheduled || writing || failure) return;
    if (delayMs <= 0 || queue.length >= coalesceRecords) {
      scheduleNow();
      return;
    }
    if (timer) return;
    timer = coalesceTimer(scheduleNow, delayMs);
    timer.unref();
  }

  /** Must the queue go out now rather than wait for company? */
  function urgent(): boolean {
    return waiters.length > 0 || idleWaiters.length > 0 || closed || queue.length >= coalesceRecords;
  }

  function takeBatch(): { items: T[]; waiters: DurableWaiter[] } {
    let items: T[];
    if (queue.length <= maxBatch) {
      items = queue;
      queue = [];
      queuedBytes = 0;
    } else {
      items = queue.splice(0, maxBatch);
      if (sizeOf) for (const item of items) queuedBytes -= sizeOf(item);
    }
    taken += items.length;
    let split = 0;
    while (split < waiters.length && (waiters[split] as DurableWaiter).at < taken) split++;
    const mine = split === waiters.length ? waiters : waiters.slice(0, split);
    waiters = split === waiters.length ? [] : waiters.slice(split);
    return { items, waiters: mine };
  }

  async function drain(): Promise<void> {
    scheduled = false;
    writing = true;
    while (!failure) {
      if (!inflight && options.housekeeping?.due()) {
        try {
          await options.housekeeping.run();
        } catch (error) {
          fail(error as Error);
        }
        continue;
      }
      if (!inflight) {
        if (queue.length === 0) break;
        inflight = takeBatch();
      }
      const batch = inflight;
      try {
        await options.write(batch.items, batch.waiters.length > 0);
      } catch (error) {
        fail(error as Error);
        break;
      }
      inflight = undefined;
      report('batch_written', batch.items.length);
      for (const waiter of batch.waiters) waiter.resolve();
      try {
        await options.afterWrite?.(batch.items);
      } catch (error) {
        fail(error as Error);
        break;
      }
      // Only buffered records queued, and few of them: let them gather for a bounded moment.
      if (queue.length > 0 && delayMs > 0 && !urgent()) {
        writing = false;
        scheduleBuffered();
        return;
      }
    }
    writing = false;
    if (!failure && queue.length === 0) {
      const idle = idleWaiters;
      idleWaiters = [];
      for (const waiter of idle) waiter.resolve();
    }
  }

  function fail(error: Error): void {
    failure = error;
    if (options.isFatal?.(error)) fatal = true;
    onError(error);
    report('write_failed', error);
    if (fatal) {
      const total = (inflight?.items.length ?? 0) + queue.length;
      const durable = (inflight?.waiters.length ?? 0) + waiters.length;
      if (total > durable) options.onFatalLoss?.(total - durable, error);
    }
    const lost = unavailable(fatal ? error.message : 'The audit log write failed');
    const rejected = [...(inflight?.waiters ?? []), ...waiters];
    if (inflight) inflight.waiters = [];
    waiters = [];
    for (const waiter of rejected) waiter.reject(lost);
    // Whoever waits for the queue to drain (flush, close) hears about the failure now, not never.
    const idle = idleWaiters;
    idleWaiters = [];
    for (const waiter of idle) waiter.reject(lost);
    if (!fatal && !closed) {
      retryTimer = setTimeout(retry, retryMs);
      retryTimer.unref();
    }
  }

  /**
   * Writes the batch a failure left behind. The writer keeps refusing records until that write
   * has succeeded, so `healthy` does not flicker back while the storage is still failing.
   */
  function retry(): Promise<void> {
    retryTimer = undefined;
    recovering ??= (async () => {
      if (fatal || !failure) return;
      report('retry');
      try {
        if (inflight) {
          const batch = inflight;
          await options.write(batch.items, false);
          inflight = undefined;
          report('batch_written', batch.items.length);
          await options.afterWrite?.(batch.items);
        }
        failure = undefined;
        report('recovered');
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (drops.pending) push(seal(drops.take(enforcer)));
      scheduleNow();
    })().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  function flush(): Promise<void> {
    if (failure) return Promise.reject(unavailable(failureMessage()));
    if (!writing && !scheduled && !inflight && queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      idleWaiters.push({ resolve, reject });
      scheduleNow();
    });
  }

  return {
    get healthy() {
      return !failure && !closed;
    },
    get queueDepth() {
      return queue.length + (inflight?.items.length ?? 0);
    },
    get queued() {
      return queue.length;
    },
    get writing() {
      return writing;
    },
    get idle() {
      return !writing && !scheduled && !timer && !inflight && queue.length === 0;
    },
    append(event, durable = false) {
      if (closed) throw unavailable('The audit log is closed');
      if (failure) throw unavailable(failureMessage());
      if (queue.length + (inflight?.items.length ?? 0) >= maxRecords || queuedBytes >= maxBytes)
        throw unavailable('The audit write queue is full');
      // Decisions refused while the queue was full are accounted for as soon as records fit again.
      if (drops.pending) push(seal(drops.take(enforcer)));
      push(seal(event));
      if (!durable) {
        scheduleBuffered();
        return undefined;
      }
      const at = appended - 1;
      const done = new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject, at });
      });
      scheduleNow();
      return done;
    },
    noteDropped(cause) {
      drops.note(cause);
    },
    flush,
    kick: scheduleNow,
    pending() {
      return { inflight: inflight?.items, queued: queue };
    },
    async stop(last) {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      closed = true; // refuse appends and stop retrying from here on
      if (recovering) await recovering;
      // One last attempt to write what a failure left behind, then the final record.
      if (failure && !fatal) await retry();
      if (failure) throw unavailable(failureMessage());
      if (drops.pending) push(seal(drops.take(enforcer)));
      push(seal(last));
      scheduleNow();
      await flush();
    },
    abandon() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

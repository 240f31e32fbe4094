import type { AuditEvent } from './record.js';
import type { Enforcer } from './sink.js';

/** What a {@link createBatchWriter} reports as it goes (e.g. to publish sink health). */
export type BatchWriterEvent = 'batch_written' | 'write_failed' | 'retry' | 'recovered';

export interface BatchWriterOptions<T> {
  /**
   * Seals an event into the sink's hash chain, on the caller's thread, in call order, and returns
   * what `write` will store (a line, a row). Called for every record, the writer's own included.
   */
  seal(event: AuditEvent): T;
  /**
   * Stores one batch, in order. With `durable`, resolve only once it is on stable storage. A
   * rejection fails the writer: it refuses records and retries this same batch (same array) every
   * `retryMs` until it succeeds, so a sink that wrote part of it must carry on where it stopped.
   */
  write(batch: readonly T[], durable: boolean): Promise<void>;
  /** Work after a stored batch (checkpoints, rotation); its durable appends have resolved already. */
  afterWrite?(batch: readonly T[]): Promise<void> | undefined;
  /** Work the drain loop runs before the next batch when due (e.g. a checkpoint steady load must not postpone). */
  housekeeping?: { due(): boolean; run(): Promise<void> };
  /** Size of a queued item, counted against `maxQueueBytes` (default: not counted). */
  bytes?(item: T): number;
  /** Refuse records (fail closed) when this many are waiting, the batch being written included (default 10000). */
  maxQueueRecords?: number;
  /** ... or when this many bytes are queued (default: no limit). */
  maxQueueBytes?: number;
  /** Items per `write` (default: everything queued). */
  maxBatchRecords?: number;
  /** After a failed write, retry this often (default 1000 ms). */
  retryMs?: number;
  /**
   * Buffered appends wait up to `delayMs` (default 4 ms) for company, so the sink writes fewer,
   * bigger batches; a batch goes out at once when `records` (default 256) are queued, when a durable
   * append or a flush waits for it. `false` writes as soon as the event loop is free.
   */
  coalesce?: false | { delayMs?: number; records?: number };
  /** Stamped into the `dropped` markers the writer seals. */
  enforcer: Enforcer;
  /** Every write failure (and other problems nobody else would hear about). Must not throw. */
  onError?(error: Error): void;
  /** A failure retrying cannot fix (another writer holds the chain): no retry, the writer stays failed. */
  isFatal?(error: Error): boolean;
  /** Called on a fatal failure with the number of buffered (already answered) records that cannot be stored. */
  onFatalLoss?(buffered: number, error: Error): void;
  /** Progress events, e.g. for diagnostics channels. Must not throw. */
  onEvent?(event: BatchWriterEvent, detail?: number | Error): void;
}

/** The queue, group commit, retry, dropped-marker and close state machine every audit sink shares. */
export interface BatchWriter<T> {
  /** `false` once a write has failed (until a retry succeeds) or the writer is closed. */
  readonly healthy: boolean;
  /** Records waiting to be stored, the batch being written included. */
  readonly queueDepth: number;
  /** Records queued behind the batch being written. */
  readonly queued: number;
  /** A write (or housekeeping) is in progress. */
  readonly writing: boolean;
  /** Nothing queued, scheduled or being written. */
  readonly idle: boolean;
  /** Seals and queues an event; with `durable`, resolves once its batch is stored. Throws `audit_unavailable`. */
  append(event: AuditEvent, durable?: boolean): undefined | Promise<void>;
  /** Counts a record that could not be taken; a `dropped` marker is sealed once records fit again. */
  noteDropped(cause: string): void;
  /** Resolves when everything queued so far is stored; rejects while the writer is failed. */
  flush(): Promise<void>;
  /** Starts the drain loop now (e.g. housekeeping became due). */
  kick(): void;
  /** The batch being written (`undefined` when none) and the items queued behind it, oldest first. */
  pending(): { inflight: readonly T[] | undefined; queued: readonly T[] };
  /**
   * Refuses records from now on, makes one last attempt at what a failure left behind, seals any
   * `dropped` marker and `last` (the `writer_stop` record), and resolves once all is stored.
   */
  stop(last: AuditEvent): Promise<void>;
  /** Refuses records from now on and stops retrying, storing nothing more (a start-up being undone). */
  abandon(): void;
}

import type { HashAlg } from './chain.js';
import type { CheckpointSigner } from './checkpoint.js';
import type { CheckpointShippingOptions, ShippedCheckpoint } from './checkpoint-shipper.js';
import type { Enforcer } from './sink.js';

export interface FileAuditSinkOptions {
  /** Active JSON-lines file; created (with its directory) when missing. Rotated segments sit beside it. */
  path: string;
  /**
   * Chain name recorded in every record. One writer per chain. Default: the chain the log already
   * has, else `<hostname>-<random hex>` (distinct per instance); name it yourself for stable names.
   */
  chain?: string;
  /**
   * Hash of the chain from this writer on: `sha256` (default) or `sm3` (GB/T 32905, for GB/T 39786
   * deployments), recorded in its `writer_start` record.
   */
  hash?: HashAlg;
  /** Refuse new records (fail closed, 503) when this many are waiting to be written (default 10000). */
  maxQueueRecords?: number;
  /** ... or when this many bytes are waiting (default 16 MiB). */
  maxQueueBytes?: number;
  /** Signed checkpoints, written to `<path>.checkpoints` and handed to `onCheckpoint`. */
  checkpoint?: CheckpointSigner & {
    /** Issue one after this many new records (default 1000). */
    everyRecords?: number;
    /** ... and at least this often, even with no new records (default 60000 ms). */
    everyMs?: number;
    /**
     * Ship each checkpoint somewhere the writer cannot rewrite (SIEM, WORM bucket, a second team).
     * Without an outside copy, whoever holds the signing key could rewrite history and re-sign it,
     * and deleting the newest records would go unseen.
     *
     * Called off the write path, in order, one at a time: a receiver that fails or hangs never
     * blocks or fails guarded routes. Each call is bounded by `shipping.timeoutMs` and retried;
     * every failure goes to `onError`.
     */
    onCheckpoint?: (checkpoint: ShippedCheckpoint) => void | Promise<void>;
    /** Timeout, attempts and backoff of `onCheckpoint` (defaults: 10 s, 5 attempts, 1 s doubling). */
    shipping?: CheckpointShippingOptions;
  };
  /** Called with each problem the sink cannot report through a request: failed writes, checkpoint shipping. */
  onError?: (error: Error) => void;
  /** Rotate the active file into a segment when it passes this size or age. */
  rotate?: { maxBytes?: number; maxAgeMs?: number };
  /**
   * Delete segments older than this many days (default 1096: PIPL Art. 54–56 records kept ≥ 3 years).
   * A segment not covered by a signed checkpoint is never deleted.
   */
  retentionDays?: number;
  /** After a write failure, retry this often (default 1000 ms). While failing, the sink refuses records. */
  retryMs?: number;
  enforcer?: Partial<Enforcer>;
}

import { PiplConfigError } from '../errors/errors.js';
import { withinTime } from '../guard/deadline.js';
import { createBatchWriter } from './batch-writer.js';
import type { BatchWriterOptions } from './batch-writer-types.js';
import { ChainHead } from './chain.js';
import { ChainProgress } from './chain-progress.js';
import { chainTail } from './chain-tail.js';
import {
  type CheckpointPayload,
  type CheckpointSigner,
  checkpointDigest,
  signCheckpoint,
} from './checkpoint.js';
import { type AuditSink, defaultEnforcer, type Enforcer, sinkOnWriter } from './sink.js';

/**
 * The I/O of an audit sink of your own (an object store, a message queue, a database the package
 * has no sink for): {@link chainedAuditSink} does the rest — sealing into the hash chain, the write
 * queue, group commit, retries, `dropped` markers, `writer_start` / `writer_stop`.
 */
export interface AuditStore {
  /**
   * The newest line this store holds for the chain (as `write` was given it; the newline may be
   * left off), or `undefined` when it holds none. Read once, when the sink opens, to continue the
   * chain where it stopped.
   */
  lastLine(): Promise<string | undefined>;
  /**
   * Stores the lines, in order, after those already stored. Each is one record's canonical JSON
   * followed by `\n`: keep the bytes as they are, the verifier checks them byte for byte. With
   * `durable`, resolve only once they are on stable storage: the guard lets a sensitive request
   * through on that. A rejection makes the sink refuse records (the guard answers 503) and call
   * again with the same lines until a call succeeds, so a store that kept part of them must not
   * keep those twice.
   */
  write(lines: readonly string[], durable: boolean): Promise<void>;
  /** Called once, after `close()` wrote the last record (and its checkpoint). */
  close?(): Promise<void>;
  /** With the `checkpoint` option: stores one signed checkpoint (a compact JWS) after those already stored. */
  writeCheckpoint?(jws: string): Promise<void>;
  /**
   * With the `checkpoint` option: the newest stored checkpoint, or `undefined` when there is none.
   * Read once at open, so this writer's first checkpoint links to it (the verifier checks the links).
   */
  lastCheckpoint?(): Promise<string | undefined>;
}

export interface ChainedAuditSinkOptions {
  /** The chain this writer extends, one per writer (e.g. the instance name). Required. */
  chain: string;
  /** Stamped into the writer's own records (default: `pipl-guard`, `<hostname>:<pid>`). */
  enforcer?: Partial<Pick<Enforcer, 'service' | 'instance'>>;
  /** Refuse records (fail closed) when this many are waiting to be stored (default 10000). */
  maxQueueRecords?: number;
  /** Lines per `write` call (default: everything queued). */
  maxBatchRecords?: number;
  /** After a failed write, call again this often (default 1000 ms). */
  retryMs?: number;
  /** Buffered records wait up to `delayMs` (default 4) for company, or until `records` (default 256) are queued. */
  coalesce?: BatchWriterOptions<string>['coalesce'];
  /**
   * Signed checkpoints (as the file and PostgreSQL sinks sign them), stored with the store's
   * `writeCheckpoint`: every `everyRecords` records (default 1000) and at `close()`. Without them,
   * deleting the newest records of a store cannot be detected. The store must then have
   * `writeCheckpoint` and `lastCheckpoint`; a checkpoint that cannot be signed or stored goes to
   * `onError`, and the next one links to the last one stored.
   */
  checkpoint?: CheckpointSigner & {
    everyRecords?: number;
    /** ... and every `everyMs` (default 60000) while records since the last one wait unsigned, so a quiet chain is signed too. */
    everyMs?: number;
    /** How long a `writeCheckpoint` or `lastCheckpoint` call may take before it counts as failed (default 10000 ms). */
    timeoutMs?: number;
  };
  /** Every failed write and retry, for your logs. Must not throw (a throw is ignored). */
  onError?(error: Error): void;
}

/**
 * An {@link AuditSink} on a store of your own: you write the I/O ({@link AuditStore}), the records
 * it stores form the same hash chain as the file and PostgreSQL sinks' and verify with
 * `verifyAuditTrail`. Opening reads the store's last line, continues the chain from it and stores a
 * `writer_start` record (durably) saying whether the previous writer closed cleanly; an unreadable
 * store or a last line that is not a record of this chain fails here, never at the first request.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const sink = await chainedAuditSink(
 *   { lastLine: async () => lines.at(-1), write: async (batch) => void lines.push(...batch) },
 *   { chain: 'orders-api-1' },
 * );
 * ```
 */
export async function chainedAuditSink(
  store: AuditStore,
  options: ChainedAuditSinkOptions,
): Promise<AuditSink> {
  const { chain } = options;
  if (typeof chain !== 'string' || chain.length === 0) {
    throw new PiplConfigError(
      'chainedAuditSink: `chain` is required, one per writer (e.g. the instance name)',
    );
  }
  const { maxQueueRecords = 10_000, maxBatchRecords = Number.POSITIVE_INFINITY, retryMs = 1000 } = options;
  if (!(maxQueueRecords > 0) || !(maxBatchRecords > 0) || !(retryMs >= 0)) {
    throw new PiplConfigError(
      'chainedAuditSink: maxQueueRecords and maxBatchRecords must be > 0, retryMs ≥ 0',
    );
  }
  const cp = options.checkpoint;
  const cpEveryRecords = cp?.everyRecords ?? 1000;
  const cpTimeoutMs = cp?.timeoutMs ?? 10_000;
  const cpEveryMs = cp?.everyMs ?? 60_000;
  if (cp) {
    if (typeof store.writeCheckpoint !== 'function' || typeof store.lastCheckpoint !== 'function') {
      throw new PiplConfigError(
        'chainedAuditSink: `checkpoint` needs a store with writeCheckpoint() and lastCheckpoint()',
      );
    }
    if (!(cpEveryRecords > 0) || !(cpTimeoutMs > 0) || !(cpEveryMs > 0)) {
      throw new PiplConfigError(
        'chainedAuditSink: checkpoint.everyRecords, checkpoint.everyMs and checkpoint.timeoutMs must be > 0',
      );
    }
  }
  const enforcer: Enforcer = { ...defaultEnforcer(), ...options.enforcer };
  const onError = (error: Error) => {
    try {
      options.onError?.(error);
    } catch {
      // A throwing error hook must not break the write loop.
    }
  };
  /** Digest of the newest stored checkpoint: the next one links to it. */
  let previousCheckpoint: string | null = null;
  /** Asks the store for its newest checkpoint (at open, and after a write that may have landed). */
  async function linkToStoredCheckpoint(): Promise<void> {
    const stored = await withinTime(
      (store.lastCheckpoint as () => Promise<string | undefined>)(),
      cpTimeoutMs,
      "The store's lastCheckpoint",
    );
    previousCheckpoint = stored === undefined ? null : checkpointDigest(stored.trim());
  }
  let last: string | undefined;
  try {
    last = await store.lastLine();
    if (cp) await linkToStoredCheckpoint();
  } catch (error) {
    throw new PiplConfigError(
      `chainedAuditSink: the store of chain "${chain}" cannot be read: ${(error as Error).message}`,
    );
  }
  const resume = last === undefined ? undefined : chainTail(last, chain);
  if (resume !== undefined && 'problem' in resume) {
    throw new PiplConfigError(
      resume.problem === 'other_chain'
        ? `chainedAuditSink: the store's last record belongs to chain "${String(resume.found)}", not "${chain}": give each chain a store of its own`
        : `chainedAuditSink: the store's last line for chain "${chain}" is not an audit record: the chain cannot be continued`,
    );
  }
  const head = resume ? new ChainHead(chain, resume.seq + 1, resume.hash) : new ChainHead(chain);
  const start = head.seal({
    type: 'writer_start',
    cleanShutdown: resume === undefined || resume.type === 'writer_stop',
    enforcer,
  });
  try {
    await store.write([start.line], true);
  } catch (error) {
    throw new PiplConfigError(
      `chainedAuditSink: the store does not take records for chain "${chain}": ${(error as Error).message}`,
    );
  }
  /** What checkpoints sign. The writer_start is the first record this writer's checkpoints cover. */
  const progress = new ChainProgress(start.seq - 1, start.record.prev);
  progress.stored([start.line]);
  /** An interval checkpoint is due (set by the timer, run by the writer between batches). */
  let checkpointDue = false;
  const writer = createBatchWriter<string>({
    enforcer,
    maxQueueRecords,
    maxBatchRecords,
    retryMs,
    coalesce: options.coalesce,
    onError,
    seal: (event) => head.seal(event).line,
    async write(batch, durable) {
      await store.write(batch, durable);
      progress.stored(batch);
    },
    afterWrite: () => (cp && progress.sinceCheckpoint >= cpEveryRecords ? checkpoint('records') : undefined),
    // An interval checkpoint runs between batches, so steady load cannot postpone it for ever.
    housekeeping: {
      due: () => checkpointDue,
      run() {
        checkpointDue = false;
        return checkpoint('interval');
      },
    },
  });
  const cpTimer = cp
    ? setInterval(() => {
        if (!writer.healthy || progress.sinceCheckpoint === 0) return;
        checkpointDue = true;
        writer.kick();
      }, cpEveryMs).unref()
    : undefined;

  // One checkpoint at a time: two in flight would both link to the same predecessor (a fork).
  let checkpointing: Promise<void> = Promise.resolve();
  /** Did the last checkpoint write fail, so that what the store holds must be asked? */
  let checkpointUncertain = false;
  function checkpoint(trigger: CheckpointPayload['trigger']): Promise<void> {
    checkpointing = checkpointing
      .then(() => issueCheckpoint(trigger))
      .catch((error: Error) => onError(error));
    return checkpointing;
  }

  async function issueCheckpoint(trigger: CheckpointPayload['trigger']): Promise<void> {
    if (!cp) return;
    if (checkpointUncertain) {
      await linkToStoredCheckpoint();
      checkpointUncertain = false;
    }
    const payload = progress.payload(chain, previousCheckpoint, trigger);
    const jws = await signCheckpoint(payload, cp);
    try {
      await withinTime(
        (store.writeCheckpoint as (jws: string) => Promise<void>)(jws),
        cpTimeoutMs,
        "The store's writeCheckpoint",
      );
    } catch (error) {
      // It may have been stored all the same (a lost answer, a late write): ask before linking the next.
      checkpointUncertain = true;
      throw error;
    }
    previousCheckpoint = checkpointDigest(jws);
    progress.signed(payload);
  }
  return sinkOnWriter(writer, async () => {
    clearInterval(cpTimer);
    try {
      await writer.stop({ type: 'writer_stop', enforcer });
      await checkpoint('close');
    } finally {
      await store.close?.();
    }
  });
}

import { PiplConfigError } from '../errors/errors.js';
import { createBatchWriter } from './batch-writer.js';
import type { BatchWriterOptions } from './batch-writer-types.js';
import { ChainHead } from './chain.js';
import { type AuditSink, defaultEnforcer, type Enforcer } from './sink.js';

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
  /** Called once, after `close()` wrote the last record. */
  close?(): Promise<void>;
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
  const enforcer: Enforcer = { ...defaultEnforcer(), ...options.enforcer };
  const onError = (error: Error) => {
    try {
      options.onError?.(error);
    } catch {
      // A throwing error hook must not break the write loop.
    }
  };
  let last: string | undefined;
  try {
    last = await store.lastLine();
  } catch (error) {
    throw new PiplConfigError(
      `chainedAuditSink: the store's last line for chain "${chain}" cannot be read: ${(error as Error).message}`,
    );
  }
  const resume = last === undefined ? undefined : resumePoint(last, chain);
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
  const writer = createBatchWriter<string>({
    enforcer,
    maxQueueRecords,
    maxBatchRecords,
    retryMs,
    coalesce: options.coalesce,
    onError,
    seal: (event) => head.seal(event).line,
    write: (batch, durable) => store.write(batch, durable),
  });
  let closing: Promise<void> | undefined;
  return {
    get healthy() {
      return writer.healthy;
    },
    get queueDepth() {
      return writer.queueDepth;
    },
    append: writer.append,
    noteDropped: writer.noteDropped,
    flush: writer.flush,
    close() {
      closing ??= (async () => {
        try {
          await writer.stop({ type: 'writer_stop', enforcer });
        } finally {
          await store.close?.();
        }
      })();
      return closing;
    },
  };
}

/** Where the stored chain stopped: the seq, hash and type of its last record. */
function resumePoint(line: string, chain: string): { seq: number; hash: string; type: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    // Reported below with everything else that is not a record.
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const { seq, hash } = record;
  const isSeq = typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
  if (!isSeq || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new PiplConfigError(
      `chainedAuditSink: the store's last line for chain "${chain}" is not an audit record: the chain cannot be continued`,
    );
  }
  if (record.chain !== chain) {
    throw new PiplConfigError(
      `chainedAuditSink: the store's last record belongs to chain "${String(record.chain)}", not "${chain}": give each chain a store of its own`,
    );
  }
  return { seq, hash, type: record.type };
}

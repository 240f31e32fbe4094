import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { publishAuditHealth } from '../diagnostics/channels.js';
import { PiplConfigError, PiplGuardError } from '../errors/errors.js';
import { ChainHead, type HashAlg } from './chain.js';
import { defaultChainName } from './chain-name.js';
import {
  type CheckpointPayload,
  type CheckpointSigner,
  checkpointDigest,
  signCheckpoint,
} from './checkpoint.js';
import {
  type CheckpointShippingOptions,
  checkpointShipper,
  type ShippedCheckpoint,
} from './checkpoint-shipper.js';
import { recover } from './file-recovery.js';
import { finishInterruptedRotation, moveToSegment, readTail, segmentsOf } from './segments.js';
import { type AuditSink, DropCounter, defaultEnforcer, type Enforcer } from './sink.js';
import { acquireWriterLock } from './writer-lock.js';

export interface FileAuditSinkOptions {
  /** Active JSON-lines file; created (with its directory) when missing. Rotated segments sit beside it. */
  path: string;
  /**
   * Chain name recorded in every record. One writer per chain. Default: the chain the log already
   * has, else `<hostname>-<random hex>` (distinct per instance); name it yourself for stable names.
   */
  chain?: string;
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
  /**
   * Hash of the chain from this writer on: `sha256` (default) or `sm3` (GB/T 32905, for GB/T 39786
   * deployments), recorded in its `writer_start` record.
   */
  hash?: HashAlg;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The default audit sink: appends hash-chained canonical JSON lines to a file.
 *
 * Records are sealed (seq, prev, hash) on the caller's thread, in order, then written in batches
 * off the critical path: everything queued while one write is in flight goes out in the next.
 * A `durable` append resolves after its batch's `fdatasync`, which all concurrent durable appends
 * share (group commit). A `buffered` append is written by the next batch, normally within a few
 * milliseconds; a crash or power cut before then loses it (at most `maxQueueRecords` records).
 *
 * A failed write (disk full, EIO) makes the sink refuse records (guards answer 503) and retry the
 * unwritten bytes every `retryMs`; nothing sealed is skipped, so the chain has no holes. Opening
 * continues the chain: a torn final line (crash mid-write) is cut off and a `writer_start` record
 * notes whether the previous writer shut down cleanly.
 *
 * @example
 * ```ts
 * const audit = fileAuditSink({ path: './var/audit/pipl.jsonl' });
 * process.on('SIGTERM', () => audit.close().then(() => process.exit(0)));
 * ```
 */
export function fileAuditSink(options: FileAuditSinkOptions): AuditSink {
  const chain = options.chain ?? defaultChainName(options.path);
  const maxRecords = options.maxQueueRecords ?? 10_000;
  const maxBytes = options.maxQueueBytes ?? 16 * 1024 * 1024;
  const retryMs = options.retryMs ?? 1000;
  const enforcer = { ...defaultEnforcer(), ...options.enforcer };
  const checkpointPath = `${options.path}.checkpoints`;
  const cp = options.checkpoint;
  const cpEveryRecords = cp?.everyRecords ?? 1000;
  const retentionMs = (options.retentionDays ?? 1096) * 86_400_000;
  const onError = (error: Error) => {
    try {
      options.onError?.(error);
    } catch {
      // A throwing error hook must not break the write loop.
    }
  };
  const onCheckpoint = cp?.onCheckpoint;
  const shipper = onCheckpoint
    ? checkpointShipper(onCheckpoint, onError, cp?.shipping, {
        shipped: () => publishAuditHealth('file', chain, 'checkpoint_shipped'),
        failed: (e) => publishAuditHealth('file', chain, 'checkpoint_failed', e),
      })
    : undefined;

  let fd: number;
  let head: ChainHead;
  let fileBytes: number;
  let fileOpenedAt = Date.now();
  /** Seq of the active file's first record, kept here: it names the segment on rotation. */
  let activeFirstSeq: number;
  let lastCheckpoint: { digest: string; lastSeq: number } | undefined;
  let release: () => void = () => {};
  /** Did this open create the log? A start-up that fails then removes it again (see discard). */
  let created = false;
  try {
    fs.mkdirSync(dirname(options.path), { recursive: true });
    release = acquireWriterLock(options.path);
    finishInterruptedRotation(options.path);
    created = !fs.existsSync(options.path);
    fd = fs.openSync(options.path, 'a+');
    const recovered = recover(fd, options.path, chain);
    activeFirstSeq = recovered.activeFirstSeq;
    head = new ChainHead(chain, recovered.nextSeq, recovered.prev, options.hash);
    const start = head.seal({
      type: 'writer_start',
      cleanShutdown: recovered.cleanShutdown,
      ...(recovered.repairedBytes > 0 ? { repairedBytes: recovered.repairedBytes } : {}),
      // The verifier hashes this writer's records with the algorithm named here (SHA-256 when absent).
      ...(options.hash === 'sm3' ? { hashAlg: 'sm3' as const } : {}),
      enforcer,
    });
    fs.writeSync(fd, start.line);
    fs.fdatasyncSync(fd);
    fileBytes = fs.fstatSync(fd).size;
    const lastJws = readTail(checkpointPath);
    if (lastJws) lastCheckpoint = { digest: checkpointDigest(lastJws), lastSeq: -1 };
  } catch (error) {
    release();
    if (error instanceof PiplConfigError) throw error;
    throw new PiplConfigError(
      `Audit log ${options.path} cannot be opened for writing: ${(error as Error).message}`,
    );
  }

  let queue: string[] = [];
  let queuedBytes = 0;
  let durableWaiters: Waiter[] = [];
  let idleWaiters: Waiter[] = [];
  /** Bytes sealed and taken from the queue but not yet fully written: retried after a failure. */
  let inflight: Buffer | undefined;
  let writing = false;
  let scheduled = false;
  let failure: Error | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  let sinceCheckpoint = 0;
  let firstTimeSinceCheckpoint: string | null = null;
  let lastSealedTime: string | null = null;
  let writtenSeq = head.seq - 1;
  let writtenHash = head.prev;
  let writtenTime: string | null = null;
  let retryTimer: NodeJS.Timeout | undefined;
  const drops = new DropCounter();
  /** Nothing but this writer's `writer_start` has been written or signed yet. */
  let pristine = true;

  const unavailable = (why: string) => new PiplGuardError('audit_unavailable', why);

  function schedule() {
    if (scheduled || writing || failure) return;
    scheduled = true;
    setImmediate(drain);
  }

  function takeBatch(): { waiters: Waiter[]; lastSeq: number; lastHash: string; lastTime: string | null } {
    // After a failure the unwritten bytes come first; what was queued since follows them.
    const pending = Buffer.from(queue.join(''));
    inflight = inflight ? Buffer.concat([inflight, pending]) : pending;
    const batch = {
      waiters: durableWaiters,
      lastSeq: head.seq - 1,
      lastHash: head.prev,
      lastTime: lastSealedTime,
    };
    queue = [];
    queuedBytes = 0;
    durableWaiters = [];
    return batch;
  }

  async function drain() {
    scheduled = false;
    writing = true;
    // Bytes a failure left behind are written by retry() before the sink takes records again.
    while (queue.length > 0 && !failure) {
      const batch = takeBatch();
      try {
        await writeFrom(fd, inflight as Buffer);
        inflight = undefined;
        if (batch.waiters.length > 0) await fdatasync(fd);
        for (const waiter of batch.waiters) waiter.resolve();
        publishAuditHealth('file', chain, 'batch_written', batch.lastSeq - writtenSeq);
        writtenSeq = batch.lastSeq;
        writtenHash = batch.lastHash;
        writtenTime = batch.lastTime;
        if (cp && sinceCheckpoint >= cpEveryRecords) await checkpoint('records');
        if (options.rotate && shouldRotate()) await rotate();
      } catch (error) {
        fail(error as Error, batch.waiters);
      }
    }
    writing = false;
    if (!failure) {
      const idle = idleWaiters;
      idleWaiters = [];
      for (const waiter of idle) waiter.resolve();
    }
  }

  /** Writes `inflight` from where the last attempt stopped, so a retry never duplicates bytes. */
  async function writeFrom(handle: number, buffer: Buffer) {
    let offset = 0;
    try {
      while (offset < buffer.length) {
        offset += await write(handle, buffer, offset);
      }
      fileBytes += buffer.length;
    } catch (error) {
      inflight = buffer.subarray(offset);
      fileBytes += offset;
      throw error;
    }
  }

  function fail(error: Error, waiters: Waiter[]) {
    failure = error;
    onError(error);
    publishAuditHealth('file', chain, 'write_failed', error);
    const lost = unavailable('The audit log write failed');
    for (const waiter of [...waiters, ...durableWaiters]) waiter.reject(lost);
    durableWaiters = [];
    // Whoever waits for the queue to drain (flush, close) hears about the failure now, not never.
    const idle = idleWaiters;
    idleWaiters = [];
    for (const waiter of idle) waiter.reject(lost);
    if (closed) return;
    retryTimer = setTimeout(retry, retryMs);
    retryTimer.unref();
  }

  /**
   * Writes the bytes a failure left behind. The sink keeps refusing records until that write has
   * succeeded, so `healthy` does not flicker back while the disk is still full.
   */
  let recovering: Promise<void> | undefined;
  function retry(): Promise<void> {
    retryTimer = undefined;
    recovering ??= (async () => {
      publishAuditHealth('file', chain, 'retry');
      try {
        if (inflight) await writeFrom(fd, inflight);
        inflight = undefined;
        failure = undefined;
        publishAuditHealth('file', chain, 'recovered');
      } catch (error) {
        fail(error as Error, []);
        return;
      }
      if (drops.pending) sealLine(drops.take(enforcer));
      schedule();
    })().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  function sealLine(event: Parameters<ChainHead['seal']>[0]) {
    const { line, time } = head.seal(event);
    queue.push(line);
    queuedBytes += line.length;
    sinceCheckpoint++;
    lastSealedTime = time;
    firstTimeSinceCheckpoint ??= time;
  }

  // One checkpoint at a time: two in flight would both point at the same predecessor (a fork).
  let checkpointing: Promise<void> = Promise.resolve();
  function checkpoint(trigger: CheckpointPayload['trigger']): Promise<void> {
    const next = checkpointing.then(() => issueCheckpoint(trigger));
    // Signing or storing it failed; shipping results are published by the shipper.
    next.catch((e) => publishAuditHealth('file', chain, 'checkpoint_failed', e));
    checkpointing = next.catch(() => {});
    return next;
  }

  async function issueCheckpoint(trigger: CheckpointPayload['trigger']) {
    if (!cp) return;
    await fdatasync(fd);
    const payload: CheckpointPayload = {
      type: 'pipl-audit-checkpoint',
      chain,
      size: writtenSeq + 1,
      lastSeq: writtenSeq,
      lastHash: writtenHash,
      prevCheckpoint: lastCheckpoint?.digest ?? null,
      firstTime: firstTimeSinceCheckpoint,
      lastTime: writtenTime,
      issuedAt: new Date().toISOString(),
      trigger,
    };
    pristine = false;
    const jws = await signCheckpoint(payload, cp);
    fs.appendFileSync(checkpointPath, `${jws}\n`);
    lastCheckpoint = { digest: checkpointDigest(jws), lastSeq: writtenSeq };
    sinceCheckpoint = 0;
    firstTimeSinceCheckpoint = null;
    shipper?.ship({ jws, payload });
  }

  function shouldRotate(): boolean {
    const rotate = options.rotate ?? {};
    return (
      (rotate.maxBytes !== undefined && fileBytes >= rotate.maxBytes) ||
      (rotate.maxAgeMs !== undefined && Date.now() - fileOpenedAt >= rotate.maxAgeMs)
    );
  }

  /** Moves the active file to a segment named by its first seq; the chain carries on in a new file. */
  async function rotate() {
    if (queue.length > 0) return; // the next batch rotates, so no record is split from its batch
    await checkpoint('rotation');
    fs.fdatasyncSync(fd);
    // Throws (the sink fails closed) rather than replace an existing segment.
    moveToSegment(options.path, activeFirstSeq);
    fs.closeSync(fd);
    fd = fs.openSync(options.path, 'a+');
    activeFirstSeq = writtenSeq + 1; // all written so far is in the old file; the next record starts this one
    fileBytes = 0;
    fileOpenedAt = Date.now();
    applyRetention();
  }

  function applyRetention() {
    const now = Date.now();
    for (const segment of segmentsOf(options.path)) {
      const stat = fs.statSync(segment.path);
      // Never delete what no signed checkpoint covers.
      const covered = lastCheckpoint !== undefined && segment.lastSeq <= lastCheckpoint.lastSeq;
      if (cp && covered && now - stat.mtimeMs > retentionMs) fs.unlinkSync(segment.path);
    }
  }

  function flush(): Promise<void> {
    if (!writing && !scheduled && !inflight && queue.length === 0) {
      return failure ? Promise.reject(unavailable('The audit log write failed')) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      idleWaiters.push({ resolve, reject });
      if (failure) reject(unavailable('The audit log write failed'));
    });
  }

  let cpTimer: NodeJS.Timeout | undefined;
  if (cp) {
    cpTimer = setInterval(() => {
      if (!writing && !failure && !closed) void checkpoint('interval').catch(() => {});
    }, cp.everyMs ?? 60_000);
    cpTimer.unref();
  }

  /**
   * Undoes this open when nothing was recorded yet (a start-up that failed): a log this open created
   * is removed, an existing one gets its `writer_stop`, and the lock is released, so the next start
   * is not reported as an unclean restart.
   */
  function discard(): void {
    if (!pristine || closing) return;
    closed = true;
    closing = Promise.resolve();
    clearInterval(cpTimer);
    clearTimeout(retryTimer);
    exitFlushers.delete(onExit);
    if (exitFlushers.size === 0) process.removeListener('exit', flushAllOnExit);
    try {
      if (!created) {
        // Only the guard's `policy` record can be waiting here (it does not count as recorded work).
        if (inflight) fs.writeSync(fd, inflight);
        if (queue.length > 0) fs.writeSync(fd, queue.join(''));
        fs.writeSync(fd, head.seal({ type: 'writer_stop', enforcer }).line);
        fs.fdatasyncSync(fd);
      }
      fs.closeSync(fd);
      if (created) fs.unlinkSync(options.path);
    } catch {
      // Best effort: the next open repairs a torn line and records what it found.
    } finally {
      release();
    }
  }

  // Backstop for a process that exits without close(): write what is queued, synchronously. A
  // process that exits before its first record (a start-up error) leaves the log as it found it.
  const onExit = () => {
    if (pristine && !closing) return discard();
    try {
      if (inflight) fs.writeSync(fd, inflight);
      if (queue.length > 0) fs.writeSync(fd, queue.join(''));
    } catch {
      // Nothing more can be done while exiting; the next open repairs any torn line.
    }
  };
  exitFlushers.add(onExit);
  if (exitFlushers.size === 1) process.once('exit', flushAllOnExit);

  return {
    get healthy() {
      return !failure && !closed;
    },
    get queueDepth() {
      return queue.length;
    },
    append(event, durable = false) {
      if (closed) throw unavailable('The audit log is closed');
      if (failure) throw unavailable('The audit log cannot be written; retrying');
      if (queue.length >= maxRecords || queuedBytes >= maxBytes)
        throw unavailable('The audit write queue is full');
      // Decisions refused while the queue was full are accounted for as soon as records fit again.
      if (drops.pending) sealLine(drops.take(enforcer));
      sealLine(event);
      // The guard's start-up `policy` record is not work done: a start that fails after it still
      // leaves the log as it found it (see discard).
      if (event.type !== 'policy') pristine = false;
      schedule();
      if (!durable) return undefined;
      return new Promise<void>((resolve, reject) => durableWaiters.push({ resolve, reject }));
    },
    noteDropped(cause) {
      drops.note(cause);
    },
    flush,
    discard,
    close() {
      if (closing) return closing;
      closing = (async () => {
        clearInterval(cpTimer);
        clearTimeout(retryTimer);
        closed = true; // refuse appends and stop retrying from here on
        try {
          // One last attempt to write what a failure left behind, then the writer_stop record.
          if (failure) await retry();
          if (failure) throw unavailable('The audit log cannot be written; records are still pending');
          if (drops.pending) sealLine(drops.take(enforcer));
          sealLine({ type: 'writer_stop', enforcer });
          schedule();
          await flush();
          fs.fdatasyncSync(fd);
          await checkpoint('close');
        } finally {
          exitFlushers.delete(onExit);
          if (exitFlushers.size === 0) process.removeListener('exit', flushAllOnExit);
          fs.closeSync(fd);
          release();
          // After the lock is released: a slow receiver never delays the next writer.
          await shipper?.stop();
        }
      })();
      return closing;
    },
  };
}

/** One `exit` listener for every open sink, however many there are. */
const exitFlushers = new Set<() => void>();
function flushAllOnExit(): void {
  for (const flush of exitFlushers) flush();
}

function write(fd: number, buffer: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buffer, offset, buffer.length - offset, null, (error, written) =>
      error ? reject(error) : resolve(written),
    ),
  );
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

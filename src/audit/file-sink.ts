import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { publishAuditHealth } from '../diagnostics/channels.js';
import { PiplConfigError } from '../errors/errors.js';
import { createBatchWriter } from './batch-writer.js';
import { ChainHead } from './chain.js';
import { defaultChainName } from './chain-name.js';
import { ChainProgress } from './chain-progress.js';
import { type CheckpointPayload, checkpointDigest, signCheckpoint } from './checkpoint.js';
import { checkpointShipper } from './checkpoint-shipper.js';
import { encodeLines, fdatasync, MAX_SCRATCH_BYTES, write } from './file-io.js';
import { recover } from './file-recovery.js';
import type { FileAuditSinkOptions } from './file-sink-options.js';
import { finishInterruptedRotation, moveToSegment, readTail, segmentsOf } from './segments.js';
import { type AuditSink, defaultEnforcer } from './sink.js';
import { acquireWriterLock } from './writer-lock.js';

export type { FileAuditSinkOptions } from './file-sink-options.js';

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

  /** The writer_start is stored already (written at open); checkpoints count from after it. */
  const progress = new ChainProgress(head.seq - 1, head.prev);
  let closing: Promise<void> | undefined;
  /** Nothing but this writer's `writer_start` has been written or signed yet. */
  let pristine = true;
  /** The batch being written and how far it got: a retry carries on there, never duplicating bytes. */
  let partial: { batch: readonly string[]; buffer: Buffer; offset: number } | undefined;
  /** Where batches are encoded; reused, since a batch is fully written before the next one starts. */
  let scratch: Buffer = Buffer.allocUnsafeSlow(64 * 1024);

  // Queued as bare lines: a sealed record object kept alive for the coalescing delay would outlive
  // young-generation GC and cost more than it saves. The batch's last seq, hash and time are read
  // back from its last line.
  const writer = createBatchWriter<string>({
    enforcer,
    maxQueueRecords: maxRecords,
    maxQueueBytes: maxBytes,
    retryMs,
    onError,
    onEvent: (event, detail) => publishAuditHealth('file', chain, event, detail),
    bytes: (line) => line.length,
    seal: (event) => head.seal(event).line,
    async write(batch, durable) {
      if (partial?.batch !== batch) {
        const { buffer, length } = encodeLines(batch, scratch);
        if (buffer.length <= MAX_SCRATCH_BYTES) scratch = buffer;
        partial = { batch, buffer: buffer.subarray(0, length), offset: 0 };
      }
      const current = partial;
      while (current.offset < current.buffer.length) {
        const written = await write(fd, current.buffer, current.offset);
        current.offset += written;
        fileBytes += written;
      }
      partial = undefined;
      if (durable) await fdatasync(fd);
      progress.stored(batch);
    },
    async afterWrite() {
      if (cp && progress.sinceCheckpoint >= cpEveryRecords) await checkpoint('records');
      if (options.rotate && shouldRotate()) await rotate();
    },
  });

  // One checkpoint at a time: two in flight would both point at the same predecessor (a fork).
  let checkpointing: Promise<void> = Promise.resolve();
  function checkpoint(trigger: CheckpointPayload['trigger']): Promise<void> {
    const next = checkpointing.then(() => issueCheckpoint(trigger));
    // Signing or storing it failed; shipping results are published by the shipper.
    checkpointing = next.catch((e) => publishAuditHealth('file', chain, 'checkpoint_failed', e));
    return next;
  }

  async function issueCheckpoint(trigger: CheckpointPayload['trigger']) {
    if (!cp) return;
    await fdatasync(fd);
    const payload = progress.payload(chain, lastCheckpoint?.digest ?? null, trigger);
    pristine = false;
    const jws = await signCheckpoint(payload, cp);
    fs.appendFileSync(checkpointPath, `${jws}\n`);
    lastCheckpoint = { digest: checkpointDigest(jws), lastSeq: payload.lastSeq };
    progress.signed(payload);
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
    if (writer.queued > 0) return; // the next batch rotates, so no record is split from its batch
    await checkpoint('rotation');
    fs.fdatasyncSync(fd);
    // Throws (the sink fails closed) rather than replace an existing segment.
    moveToSegment(options.path, activeFirstSeq);
    fs.closeSync(fd);
    fd = fs.openSync(options.path, 'a+');
    activeFirstSeq = progress.writtenSeq + 1; // all written so far is in the old file; the next record starts this one
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

  let cpTimer: NodeJS.Timeout | undefined;
  if (cp) {
    cpTimer = setInterval(() => {
      if (!writer.writing && writer.healthy) void checkpoint('interval').catch(() => {});
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
    // Only the guard's start-up `policy` record can be waiting (it does not count as recorded work).
    const { inflight, queued } = writer.pending();

    closing = Promise.resolve();
    writer.abandon();
    clearInterval(cpTimer);
    exitFlushers.delete(onExit);
    if (exitFlushers.size === 0) process.removeListener('exit', flushAllOnExit);
    try {
      if (!created) {
        if (partial) fs.writeSync(fd, partial.buffer.subarray(partial.offset));
        else if (inflight) fs.writeSync(fd, inflight.join(''));
        if (queued.length > 0) fs.writeSync(fd, queued.join(''));
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
      const { inflight, queued } = writer.pending();
      if (partial) fs.writeSync(fd, partial.buffer.subarray(partial.offset));
      else if (inflight) fs.writeSync(fd, inflight.join(''));
      if (queued.length > 0) fs.writeSync(fd, queued.join(''));
    } catch {
      // Nothing more can be done while exiting; the next open repairs any torn line.
    }
  };
  exitFlushers.add(onExit);
  if (exitFlushers.size === 1) process.once('exit', flushAllOnExit);

  return {
    get healthy() {
      return writer.healthy;
    },
    get queueDepth() {
      return writer.queueDepth;
    },
    append(event, durable = false) {
      const done = writer.append(event, durable);
      // The guard's start-up `policy` record is not work done: a start that fails after it still
      // leaves the log as it found it (see discard).
      if (event.type !== 'policy') pristine = false;
      return done;
    },
    noteDropped: writer.noteDropped,
    flush: writer.flush,
    discard,
    close() {
      if (closing) return closing;
      closing = (async () => {
        clearInterval(cpTimer);

        try {
          await writer.stop({ type: 'writer_stop', enforcer });
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

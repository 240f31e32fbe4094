import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { PiplConfigError, PiplGuardError } from '../errors/errors.js';
import { ChainHead } from './chain.js';
import type { AuditRecord } from './record.js';
import { type AuditSink, defaultEnforcer, type Enforcer } from './sink.js';

export interface FileAuditSinkOptions {
  /** JSON-lines file to append to; created (with its directory) when missing. */
  path: string;
  /** Chain name recorded in every record (default `pipl-guard`). One writer per chain. */
  chain?: string;
  /** Refuse new records (fail closed, 503) when this many are waiting to be written (default 10000). */
  maxQueueRecords?: number;
  /** ... or when this many bytes are waiting (default 16 MiB). */
  maxQueueBytes?: number;
  enforcer?: Partial<Enforcer>;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The default audit sink: appends hash-chained canonical JSON lines to a file.
 *
 * Records are sealed (seq, prev, hash) on the request's thread, in order, then written in batches
 * off the critical path: everything queued while one write is in flight goes out in the next one.
 * A `durable` append waits for its batch's `fdatasync`, which all concurrent durable appends share.
 * After any write error the sink stays unhealthy and refuses records, so guards fail closed.
 *
 * Opening the file continues its chain: a torn final line (crash mid-write) is cut off and a
 * `writer_start` record notes whether the previous writer shut down cleanly.
 *
 * @example
 * ```ts
 * const audit = fileAuditSink({ path: './var/audit/pipl.jsonl' });
 * process.on('SIGTERM', () => audit.close().then(() => process.exit(0)));
 * ```
 */
export function fileAuditSink(options: FileAuditSinkOptions): AuditSink {
  const chain = options.chain ?? 'pipl-guard';
  const maxRecords = options.maxQueueRecords ?? 10_000;
  const maxBytes = options.maxQueueBytes ?? 16 * 1024 * 1024;
  const enforcer = { ...defaultEnforcer(), ...options.enforcer };

  let fd: number;
  let head: ChainHead;
  let startEvent: { cleanShutdown: boolean; repairedBytes?: number };
  try {
    fs.mkdirSync(dirname(options.path), { recursive: true });
    fd = fs.openSync(options.path, 'a+');
    const recovered = recoverTail(fd, chain);
    head = new ChainHead(chain, recovered.nextSeq, recovered.prev);
    startEvent = { cleanShutdown: recovered.cleanShutdown };
    if (recovered.repairedBytes > 0) startEvent.repairedBytes = recovered.repairedBytes;
    const { line } = head.seal({ type: 'writer_start', ...startEvent, enforcer });
    fs.writeSync(fd, line);
    fs.fdatasyncSync(fd);
  } catch (error) {
    if (error instanceof PiplConfigError) throw error;
    throw new PiplConfigError(
      `Audit log ${options.path} cannot be opened for writing: ${(error as Error).message}`,
    );
  }

  let queue: string[] = [];
  let queuedBytes = 0;
  let durableWaiters: Waiter[] = [];
  let idleWaiters: Waiter[] = [];
  let writing = false;
  let scheduled = false;
  let failure: Error | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  const unavailable = (why: string) => new PiplGuardError('audit_unavailable', why);

  function schedule() {
    if (scheduled || writing) return;
    scheduled = true;
    setImmediate(drain);
  }

  async function drain() {
    scheduled = false;
    writing = true;
    while (queue.length > 0 && !failure) {
      const batch = Buffer.from(queue.join(''));
      const waiters = durableWaiters;
      queue = [];
      queuedBytes = 0;
      durableWaiters = [];
      try {
        await writeAll(fd, batch);
        if (waiters.length > 0) await fdatasync(fd);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        fail(error as Error, waiters);
      }
    }
    writing = false;
    const idle = idleWaiters;
    idleWaiters = [];
    for (const waiter of idle) failure ? waiter.reject(failure) : waiter.resolve();
  }

  function fail(error: Error, waiters: Waiter[]) {
    failure = error;
    const lost = unavailable('The audit log write failed');
    for (const waiter of [...waiters, ...durableWaiters]) waiter.reject(lost);
    durableWaiters = [];
    queue = [];
    queuedBytes = 0;
  }

  function flush(): Promise<void> {
    if (!writing && !scheduled && queue.length === 0)
      return failure ? Promise.reject(failure) : Promise.resolve();
    return new Promise<void>((resolve, reject) => idleWaiters.push({ resolve, reject }));
  }

  // Backstop for a process that exits without close(): write what is queued, synchronously.
  const onExit = () => {
    if (failure || queue.length === 0) return;
    try {
      fs.writeSync(fd, queue.join(''));
      queue = [];
    } catch {
      // Nothing more can be done while exiting; the next open repairs any torn line.
    }
  };
  process.once('exit', onExit);

  return {
    get healthy() {
      return !failure && !closed;
    },
    append(event, durable = false) {
      if (closed) throw unavailable('The audit log is closed');
      if (failure) throw unavailable('The audit log failed earlier and refuses new records');
      if (queue.length >= maxRecords || queuedBytes >= maxBytes)
        throw unavailable('The audit write queue is full');
      const { line } = head.seal(event);
      queue.push(line);
      queuedBytes += line.length;
      schedule();
      if (!durable) return undefined;
      return new Promise<void>((resolve, reject) => durableWaiters.push({ resolve, reject }));
    },
    flush,
    close() {
      if (closing) return closing;
      closing = (async () => {
        if (!failure) {
          const { line } = head.seal({ type: 'writer_stop', enforcer });
          queue.push(line);
          schedule();
        }
        closed = true;
        try {
          await flush();
          fs.fdatasyncSync(fd);
        } finally {
          process.removeListener('exit', onExit);
          fs.closeSync(fd);
        }
      })();
      return closing;
    },
  };
}

function writeAll(fd: number, buffer: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number) => {
      fs.write(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
        if (error) return reject(error);
        if (offset + written < buffer.length) return step(offset + written);
        resolve();
      });
    };
    step(0);
  });
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Finds the last complete record, cutting off a torn final line. */
function recoverTail(
  fd: number,
  chain: string,
): { nextSeq: number; prev: string | undefined; cleanShutdown: boolean; repairedBytes: number } {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return { nextSeq: 0, prev: undefined, cleanShutdown: true, repairedBytes: 0 };
  const chunk = 64 * 1024;
  let end = size;
  let tail = '';
  let repairedBytes = 0;
  // Read backwards until the text holds one complete line before the final newline.
  for (let start = Math.max(0, size - chunk); ; start = Math.max(0, start - chunk)) {
    const buffer = Buffer.alloc(end - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    tail = buffer.toString('utf8') + tail;
    end = start;
    const lastNewline = tail.lastIndexOf('\n');
    if (lastNewline >= 0 && (tail.lastIndexOf('\n', lastNewline - 1) >= 0 || start === 0)) break;
    if (start === 0) break;
  }
  const lastNewline = tail.lastIndexOf('\n');
  if (lastNewline < tail.length - 1) {
    repairedBytes = Buffer.byteLength(tail.slice(lastNewline + 1));
    fs.ftruncateSync(fd, size - repairedBytes);
  }
  if (lastNewline < 0) return { nextSeq: 0, prev: undefined, cleanShutdown: false, repairedBytes };
  const lastLine = tail.slice(tail.lastIndexOf('\n', lastNewline - 1) + 1, lastNewline);
  let last: AuditRecord;
  try {
    last = JSON.parse(lastLine) as AuditRecord;
  } catch {
    throw new PiplConfigError(
      'The audit log ends in a record that is not JSON; run verifyAuditLog() before writing to it',
    );
  }
  if (last.chain !== chain || typeof last.seq !== 'number' || typeof last.hash !== 'string') {
    throw new PiplConfigError(
      `The audit log's last record belongs to chain "${String(last.chain)}", not "${chain}"; use another file or chain name`,
    );
  }
  return {
    nextSeq: last.seq + 1,
    prev: last.hash,
    cleanShutdown: last.type === 'writer_stop',
    repairedBytes,
  };
}

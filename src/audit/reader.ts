import { isUtf8 } from 'node:buffer';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { segmentsOf } from './segments.js';

/** One raw line of an audit log, byte-exact, with where it came from. */
export interface AuditLine {
  text: string;
  file: string;
  /** 1-based line number within `file`. */
  line: number;
  /** The file ended without a newline after this line: it may be torn. */
  torn: boolean;
  /**
   * Why the line cannot be a record although it was read: its bytes are not UTF-8, or it is longer
   * than the reader's cap (then `text` is empty). Readers set it; consumers report it as a bad record.
   */
  problem?: string;
}

/** Options for the line readers. */
export interface ReadLinesOptions {
  /**
   * Longest line accepted, in bytes (default {@link DEFAULT_MAX_LINE_BYTES}). A longer line is
   * skipped without being held in memory and reported as a bad record.
   */
  maxLineBytes?: number;
}

/** 1 MiB: a record is a few hundred bytes; anything near this size was not written by a sink. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/** A checkpoint is a compact JWS of about 500 bytes. */
export const MAX_CHECKPOINT_LINE_BYTES = 64 * 1024;
/** Records nest three levels deep; far deeper nesting only serves to exhaust a reader's stack. */
export const MAX_RECORD_DEPTH = 32;

/** The active log files (`*.jsonl`) in a directory: one per chain, each with its rotated segments. */
export function activeLogs(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl') && !name.startsWith('.'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * The files of a log, in chain order. A file path yields its rotated segments first, then the
 * file itself; a directory yields every `*.jsonl` log in it, each preceded by its segments.
 */
export function logFiles(source: string): string[] {
  if (statSync(source).isDirectory()) return activeLogs(source).flatMap(logFiles);
  return [...segmentsOf(source).map((segment) => segment.path), source];
}

/** Checkpoint files belonging to a log source. */
export function checkpointFiles(source: string): string[] {
  if (statSync(source).isDirectory()) {
    return readdirSync(source)
      .filter((name) => name.endsWith('.checkpoints'))
      .map((name) => join(source, name));
  }
  return [`${source}.checkpoints`];
}

/**
 * Streams the lines of a log (all segments), split on LF only so that any inserted byte, CR
 * included, stays visible to the verifier. Memory stays flat whatever the size, and time is linear
 * in it: a line is joined once, when its end is found, and a line over `maxLineBytes` is skipped
 * without being kept. Bytes that are not UTF-8 are never replaced by U+FFFD (which would let a
 * byte edit hash like the original): such a line is passed on with a `problem`.
 */
export async function* readAuditLines(
  source: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<AuditLine> {
  for (const file of logFiles(source)) yield* readFileLines(file, options.maxLineBytes);
}

/** The lines of one file; see {@link readAuditLines}. */
export async function* readFileLines(
  file: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<AuditLine> {
  for await (const batch of readFileLineBatches(file, maxLineBytes)) yield* batch;
}

/**
 * The lines of one file, a read chunk's worth at a time: a consumer that checks each line
 * synchronously pays one await per chunk instead of one per line.
 */
export async function* readFileLineBatches(
  file: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<AuditLine[]> {
  // The parts of the current line seen so far, joined once its newline arrives.
  let parts: Buffer[] = [];
  let length = 0;
  let line = 0;
  const finish = (torn: boolean): AuditLine => {
    line++;
    const bytes =
      length > maxLineBytes
        ? undefined
        : parts.length === 1
          ? (parts[0] as Buffer)
          : Buffer.concat(parts, length);
    parts = [];
    const lineLength = length;
    length = 0;
    if (bytes === undefined) {
      return {
        text: '',
        file,
        line,
        torn,
        problem: `line of ${lineLength} bytes exceeds the ${maxLineBytes}-byte limit`,
      };
    }
    return decodeLine(bytes, file, line, torn);
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const batch: AuditLine[] = [];
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    if (newline >= 0 && length > 0) {
      // The end of a line begun in an earlier chunk.
      take(chunk.subarray(0, newline));
      batch.push(finish(false));
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    // The lines wholly inside this chunk. A newline byte is never part of a multi-byte sequence,
    // so when the run of them is UTF-8 so is each line: they are decoded straight from the chunk,
    // without a view and a check of their own.
    const utf8 = newline >= 0 && isUtf8(chunk.subarray(start, chunk.lastIndexOf(0x0a)));
    while (newline >= 0) {
      if (utf8 && newline - start <= maxLineBytes) {
        line++;
        batch.push({ text: chunk.toString('utf8', start, newline), file, line, torn: false });
      } else {
        take(chunk.subarray(start, newline));
        batch.push(finish(false));
      }
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) take(chunk.subarray(start));
    if (batch.length > 0) yield batch;
  }
  if (length > 0) yield [finish(true)];

  function take(part: Buffer): void {
    // Past the limit only the count grows: a 64 MB line costs no more memory than a short one.
    if (length + part.length <= maxLineBytes) parts.push(part);
    else parts = [];
    length += part.length;
  }
}

/** {@link readAuditLines}, a read chunk's worth of lines at a time. */
export async function* readAuditLineBatches(
  source: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<AuditLine[]> {
  for (const file of logFiles(source)) yield* readFileLineBatches(file, options.maxLineBytes);
}

function decodeLine(bytes: Buffer, file: string, line: number, torn: boolean): AuditLine {
  if (!isUtf8(bytes)) return { text: '', file, line, torn, problem: 'bytes are not valid UTF-8' };
  return { text: bytes.toString('utf8'), file, line, torn };
}

/**
 * Why a line read from any source (file or database) cannot be taken as a record, before it is
 * parsed: the reader's `problem`, a line over the size limit, or nesting deeper than
 * {@link MAX_RECORD_DEPTH} (which would overflow the stack of recursive serialisers).
 */
export function lineProblem(
  entry: AuditLine,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  /** The caller knows the line nests no deeper than {@link MAX_RECORD_DEPTH} (`scanCanonical` read it). */
  depthChecked = false,
): string | undefined {
  if (entry.problem !== undefined) return entry.problem;
  // UTF-16 length ≥ bytes / 3: only a long string needs its bytes counted.
  if (entry.text.length * 3 > maxLineBytes) {
    const bytes = Buffer.byteLength(entry.text);
    if (bytes > maxLineBytes) return `line of ${bytes} bytes exceeds the ${maxLineBytes}-byte limit`;
  }
  if (!depthChecked && nestedDeeperThan(entry.text, MAX_RECORD_DEPTH)) {
    return `JSON nested deeper than ${MAX_RECORD_DEPTH} levels`;
  }
  return undefined;
}

/** Is this JSON text nested deeper than `max`? A linear scan, no recursion. */
export function nestedDeeperThan(text: string, max: number): boolean {
  // Depth cannot exceed the number of opening brackets: most lines are decided by counting them.
  let opening = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at >= 0; at = text.indexOf(bracket, at + 1)) opening++;
  }
  if (opening <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * The checkpoint JWS lines beside a log source, streamed with a per-line limit: a line that is
 * too long or not UTF-8 comes back as an empty string, which no verifier accepts as a checkpoint.
 * Memory is bounded by the number of checkpoints, never by a single line.
 */
export async function readCheckpointLines(
  source: string,
  maxLineBytes = MAX_CHECKPOINT_LINE_BYTES,
): Promise<string[]> {
  const out: string[] = [];
  for (const file of checkpointFiles(source)) {
    if (!existsSync(file)) continue;
    for await (const entry of readFileLines(file, maxLineBytes)) {
      if (entry.problem !== undefined) out.push('');
      else if (entry.text.length > 0) out.push(entry.text);
    }
  }
  return out;
}

/**
 * Merges several logs (one per instance, each in its own chain order) into one stream ordered by
 * record time, so a directory reads as one timeline rather than one instance after another.
 * Lines whose time cannot be read are passed on at once (their consumer reports them).
 */
export async function* mergeByTime(sources: AsyncIterable<AuditLine>[]): AsyncGenerator<AuditLine> {
  if (sources.length === 1) {
    yield* sources[0] as AsyncIterable<AuditLine>;
    return;
  }
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const heads: ({ entry: AuditLine; time: string } | undefined)[] = [];
  const advance = async (i: number): Promise<void> => {
    const next = await (iterators[i] as AsyncIterator<AuditLine>).next();
    heads[i] = next.done ? undefined : { entry: next.value, time: timeOf(next.value) ?? '' };
  };
  await Promise.all(iterators.map((_, i) => advance(i)));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head && (best < 0 || head.time < (heads[best] as { time: string }).time)) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as { entry: AuditLine }).entry;
    await advance(best);
  }
}

/** The record's `time` (RFC 3339 UTC, fixed width, so string order is time order), if readable. */
function timeOf(entry: AuditLine): string | undefined {
  if (entry.problem !== undefined || entry.torn) return undefined;
  const match = /"time":"([0-9T:.Z-]{20,30})"/.exec(entry.text);
  return match?.[1];
}

/**
 * A log source read as one timeline: a file with its segments, or every log in a directory merged
 * by time (see {@link mergeByTime}).
 */
export function readTimeline(source: string, options: ReadLinesOptions = {}): AsyncIterable<AuditLine> {
  if (!statSync(source).isDirectory()) return readAuditLines(source, options);
  return mergeByTime(activeLogs(source).map((log) => readAuditLines(log, options)));
}

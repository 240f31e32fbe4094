import { createReadStream, readdirSync, statSync } from 'node:fs';
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
}

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
 * included, stays visible to the verifier. Memory stays flat whatever the size.
 */
export async function* readAuditLines(source: string): AsyncGenerator<AuditLine> {
  for (const file of logFiles(source)) {
    let pending: Buffer = Buffer.alloc(0);
    let line = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let start = 0;
      let newline = data.indexOf(0x0a, start);
      while (newline >= 0) {
        line++;
        yield { text: data.toString('utf8', start, newline), file, line, torn: false };
        start = newline + 1;
        newline = data.indexOf(0x0a, start);
      }
      data = data.subarray(start);
      pending = Buffer.from(data);
    }
    if (pending.length > 0) yield { text: pending.toString('utf8'), file, line: line + 1, torn: true };
  }
}

import * as fs from 'node:fs';
import { PiplConfigError } from '../errors/errors.js';
import { chainTail } from './chain-tail.js';
import { readTail, segmentsOf } from './segments.js';

/** Where the chain left off, read from the files when a writer opens a log. */
export interface Recovered {
  nextSeq: number;
  prev: string | undefined;
  cleanShutdown: boolean;
  repairedBytes: number;
  /** Seq of the active file's first record: the name its segment gets on rotation. */
  activeFirstSeq: number;
}

/** Finds where the chain left off: the active file's last complete record, else the newest segment's. */
export function recover(fd: number, path: string, chain: string): Recovered {
  const size = fs.fstatSync(fd).size;
  const { lastLine, repairedBytes } = lastCompleteLine(fd, size);
  let line = lastLine;
  if (line === undefined) {
    const segments = segmentsOf(path);
    const newest = segments.at(-1);
    if (newest) line = readTail(newest.path);
  }
  if (line === undefined)
    return {
      nextSeq: 0,
      prev: undefined,
      cleanShutdown: repairedBytes === 0,
      repairedBytes,
      activeFirstSeq: 0,
    };
  const last = chainTail(line, chain);
  if ('problem' in last) {
    throw new PiplConfigError(
      last.problem === 'other_chain'
        ? `The audit log's last record belongs to chain "${String(last.found)}", not "${chain}"; use another file or chain name`
        : 'The audit log ends in a line that is not an audit record (not JSON, or no seq and hash); run `pipl-guard audit verify` on it',
    );
  }
  const nextSeq = last.seq + 1;
  return {
    nextSeq,
    prev: last.hash,
    cleanShutdown: last.type === 'writer_stop',
    repairedBytes,
    // An empty active file starts with the writer_start record about to be written.
    activeFirstSeq: lastLine === undefined ? nextSeq : firstSeqOf(fd),
  };
}

function parseChainFields(
  line: string,
  problem: string,
): { chain?: unknown; seq?: unknown; hash?: unknown; type?: unknown } {
  try {
    const parsed = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // reported below
  }
  throw new PiplConfigError(`The audit log ${problem}; run \`pipl-guard audit verify\` on it`);
}

/** Longest first line read to find the active file's first seq (a record is never near this). */
const MAX_FIRST_LINE = 64 * 1024 * 1024;

/**
 * The seq of the file's first record, read from its whole first line. Only the seq found there
 * names a segment: a guess (say, 0 when the line is long) would rename over an older segment.
 */
function firstSeqOf(fd: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const read = fs.readSync(fd, chunk, 0, chunk.length, position);
    if (read === 0) break;
    const newline = chunk.subarray(0, read).indexOf(0x0a);
    parts.push(Buffer.from(chunk.subarray(0, newline >= 0 ? newline : read)));
    position += read;
    if (newline >= 0) break;
    if (position > MAX_FIRST_LINE) break;
  }
  const first = parseChainFields(
    Buffer.concat(parts).toString('utf8'),
    'starts with a record that is not JSON',
  );
  if (typeof first.seq !== 'number' || !Number.isSafeInteger(first.seq) || first.seq < 0) {
    throw new PiplConfigError("The audit log's first record has no seq; run `pipl-guard audit verify` on it");
  }
  return first.seq;
}

/** Reads backwards to the last newline-terminated line, cutting off a torn tail. */
function lastCompleteLine(fd: number, size: number): { lastLine: string | undefined; repairedBytes: number } {
  if (size === 0) return { lastLine: undefined, repairedBytes: 0 };
  const chunk = 64 * 1024;
  let tail = Buffer.alloc(0);
  let start = size;
  let lastNewline = -1;
  let prevNewline = -1;
  while (start > 0) {
    const from = Math.max(0, start - chunk);
    const buffer = Buffer.alloc(start - from);
    fs.readSync(fd, buffer, 0, buffer.length, from);
    tail = Buffer.concat([buffer, tail]);
    start = from;
    lastNewline = tail.lastIndexOf(0x0a);
    prevNewline = lastNewline > 0 ? tail.lastIndexOf(0x0a, lastNewline - 1) : -1;
    if (lastNewline >= 0 && (prevNewline >= 0 || start === 0)) break;
  }
  const repairedBytes = tail.length - (lastNewline + 1);
  if (repairedBytes > 0) fs.ftruncateSync(fd, size - repairedBytes);
  if (lastNewline < 0) return { lastLine: undefined, repairedBytes };
  return { lastLine: tail.toString('utf8', prevNewline + 1, lastNewline), repairedBytes };
}

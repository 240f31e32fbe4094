import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Rotated segment name: `<active name>.<first seq, 12 digits>`, so names sort in chain order. */
export function segmentName(activeName: string, firstSeq: number): string {
  return `${activeName}.${String(firstSeq).padStart(12, '0')}`;
}

const SEGMENT_SUFFIX = /\.(\d{12})$/;

export interface Segment {
  path: string;
  firstSeq: number;
  /** Last seq in the segment: one before the next segment's first (or the active file's). */
  lastSeq: number;
}

/** Rotated segments of an active log file, in chain order. */
export function segmentsOf(activePath: string): Segment[] {
  const dir = dirname(activePath);
  const prefix = `${basename(activePath)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found = names
    .filter((name) => name.startsWith(prefix) && SEGMENT_SUFFIX.test(name))
    .map((name) => ({ path: join(dir, name), firstSeq: Number(SEGMENT_SUFFIX.exec(name)?.[1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
  return found.map((segment, i) => ({
    ...segment,
    lastSeq: (found[i + 1]?.firstSeq ?? Number.MAX_SAFE_INTEGER) - 1,
  }));
}

/** The last non-empty line of a small-tailed file, or undefined when the file is missing or empty. */
export function readTail(path: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 256 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0);
    return lines.at(-1);
  } finally {
    fs.closeSync(fd);
  }
}

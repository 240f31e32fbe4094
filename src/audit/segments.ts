import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Rotated segment name: `<active name>.<first seq, 12 digits>`, so names sort in chain order. */
export function segmentName(activeName: string, firstSeq: number): string {
  return `${activeName}.${String(firstSeq).padStart(12, '0')}`;
}

const SEGMENT_SUFFIX = /\.(\d{12})$/;

/** The first seq a segment file's name gives, or undefined when the name is not a segment's. */
export function segmentFirstSeq(file: string): number | undefined {
  const match = SEGMENT_SUFFIX.exec(file);
  return match ? Number(match[1]) : undefined;
}

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

/** The non-empty lines of a file's final 256 KiB, oldest first; `[]` when it is missing or empty. */
export function readTailLines(path: string): string[] {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 256 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** The last non-empty line of a small-tailed file, or undefined when the file is missing or empty. */
export function readTail(path: string): string | undefined {
  return readTailLines(path).at(-1);
}

/**
 * Moves the active file to the segment named by its first seq, never over an existing file: a
 * hard link fails with EEXIST where `rename` would silently replace (POSIX rename(2)), so an
 * older segment can never be lost. Where hard links are not supported, an existence check under
 * the writer lock stands in. Throws when the name is taken; the caller fails closed.
 */
export function moveToSegment(activePath: string, firstSeq: number): string {
  const target = join(dirname(activePath), segmentName(basename(activePath), firstSeq));
  try {
    fs.linkSync(activePath, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`rotation refused: ${target} already exists`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
    if (fs.existsSync(target)) throw new Error(`rotation refused: ${target} already exists`);
    fs.renameSync(activePath, target);
    return target;
  }
  fs.unlinkSync(activePath);
  return target;
}

/**
 * A crash between linking the active file to its segment and unlinking it leaves one file under
 * both names. Finishes that rotation, so the records are not read twice.
 */
export function finishInterruptedRotation(activePath: string): void {
  let active: fs.Stats;
  try {
    active = fs.statSync(activePath);
  } catch {
    return;
  }
  const newest = segmentsOf(activePath).at(-1);
  if (!newest) return;
  const segment = fs.statSync(newest.path);
  if (segment.ino === active.ino && segment.dev === active.dev) fs.unlinkSync(activePath);
}

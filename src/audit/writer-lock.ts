import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { PiplConfigError } from '../errors/errors.js';

/** Logs this process holds open for writing. */
const held = new Set<string>();

/**
 * One writer per audit log: two writers would fork its chain (say, a cluster manager starting the
 * same app four times). Takes `<log>.lock` holding this process id; a lock whose process is gone is
 * stale and taken over (the next `writer_start` records the unclean shutdown). Returns the release.
 */
export function acquireWriterLock(path: string): () => void {
  const absolute = resolve(path);
  if (held.has(absolute)) {
    throw new PiplConfigError(
      `${path} is already open for writing in this process: one writer per audit log`,
    );
  }
  const lockPath = `${absolute}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      held.add(absolute);
      return function releaseWriterLock() {
        held.delete(absolute);
        try {
          fs.unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readOwner(lockPath), 10);
      if (owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new PiplConfigError(
          `process ${owner} is writing ${path}: give each process its own log file and chain (if no process writes it, delete ${lockPath})`,
        );
      }
      try {
        fs.unlinkSync(lockPath); // stale: its writer is gone
      } catch {
        // Another starter removed it first; try again.
      }
    }
  }
  throw new PiplConfigError(`cannot take the writer lock ${lockPath}`);
}

function readOwner(lockPath: string): string {
  try {
    return fs.readFileSync(lockPath, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

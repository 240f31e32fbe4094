import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { PiplConfigError } from '../errors/errors.js';

/** Logs this process holds open for writing. */
const held = new Set<string>();

/**
 * Who holds a lock. A pid alone names a process only within one PID namespace of one boot of one
 * kernel: two containers sharing a volume are both PID 1. So the lock also names the host, the
 * kernel's boot id, the PID namespace and the process start time (Linux `/proc`); elsewhere those
 * read as "unknown" and only host + pid are compared.
 */
interface LockOwner {
  pid: number;
  host: string;
  bootId: string;
  pidNs: string;
  /** Start time of the process in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  startTime?: string;
}

function identity(): LockOwner {
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    bootId: readOr('/proc/sys/kernel/random/boot_id', 'unknown'),
    pidNs: linkOr('/proc/self/ns/pid', 'unknown'),
  };
  const startTime = startTimeOf(process.pid);
  if (startTime) owner.startTime = startTime;
  return owner;
}

/**
 * One writer per audit log: two writers would fork its chain (say, a cluster manager starting the
 * same app four times, or two containers on a shared volume). Takes `<log>.lock` naming this
 * process (see {@link LockOwner}). A lock is stale, and taken over, only when it names this host,
 * boot and PID namespace and its process is gone (or the pid now belongs to a process started at
 * another time); the next `writer_start` then records the unclean shutdown. A lock from another
 * host, boot or namespace cannot be checked from here and is refused: fail closed. Returns the release.
 */
export function acquireWriterLock(path: string): () => void {
  const absolute = resolve(path);
  if (held.has(absolute)) {
    throw new PiplConfigError(
      `${path} is already open for writing in this process: one writer per audit log`,
    );
  }
  const lockPath = `${absolute}.lock`;
  const self = identity();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(self), { flag: 'wx' });
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
      const text = readOr(lockPath, '');
      const owner = parseOwner(text);
      if (!owner || !isStale(owner, self)) {
        const who = owner
          ? `process ${owner.pid} on ${owner.host} (boot ${owner.bootId}, ${owner.pidNs})`
          : `a writer that recorded only "${text.slice(0, 20)}"`;
        throw new PiplConfigError(
          `${who} is writing ${path}: give each process its own log file and chain (if no process writes it, delete ${lockPath})`,
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

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof owner === 'object' &&
      owner !== null &&
      typeof owner.pid === 'number' &&
      owner.pid > 0 &&
      typeof owner.host === 'string' &&
      typeof owner.bootId === 'string' &&
      typeof owner.pidNs === 'string'
    ) {
      return owner as LockOwner;
    }
  } catch {
    // A bare pid (older format) or garbage: the writer's whereabouts are unknown.
  }
  return undefined;
}

function isStale(owner: LockOwner, self: LockOwner): boolean {
  // Only a process in our own PID namespace of our own boot can be checked from here.
  if (owner.host !== self.host || owner.bootId !== self.bootId || owner.pidNs !== self.pidNs) return false;
  if (owner.pid === self.pid) return owner.startTime !== self.startTime; // our pid, an earlier process
  if (!isAlive(owner.pid)) return true;
  // Alive: the same process only if it started when the lock says (pids are reused).
  const live = startTimeOf(owner.pid);
  return owner.startTime !== undefined && live !== undefined && live !== owner.startTime;
}

function startTimeOf(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // Field 2 (comm) may contain spaces and parentheses: count fields after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

function readOr(path: string, fallback: string): string {
  try {
    return fs.readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function linkOr(path: string, fallback: string): string {
  try {
    return fs.readlinkSync(path);
  } catch {
    return fallback;
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

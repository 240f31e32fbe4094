import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { acquireWriterLock } from '../../src/audit/writer-lock.js';
import { fileAuditSink, PiplConfigError } from '../../src/index.js';

// One writer per audit log: a second writer would fork the chain.
const fresh = () => join(mkdtempSync(join(tmpdir(), 'pipl-lock-')), 'audit.jsonl');

/** This process's lock identity, read from a lock it takes and releases on a scratch log. */
function identityOf(path: string): Record<string, unknown> {
  const scratch = `${path}.scratch`;
  const release = acquireWriterLock(scratch);
  const identity = JSON.parse(readFileSync(`${scratch}.lock`, 'utf8')) as Record<string, unknown>;
  release();
  return identity;
}

describe('writer lock', () => {
  it('refuses a second sink on the same file in this process, and frees the file on close', async () => {
    const path = fresh();
    const first = fileAuditSink({ path });
    expect(existsSync(`${path}.lock`)).toBe(true);
    expect(() => fileAuditSink({ path })).toThrow(PiplConfigError);
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const second = fileAuditSink({ path });
    await second.close();
    expect((await verifyAuditLog(path)).valid).toBe(true);
  });

  it('refuses a file another live process writes, naming its pid and the lock to delete', async () => {
    const path = fresh();
    // Any live process on this host stands in for the other writer (its start time is not checked
    // against the lock here: the lock claims the same namespace, so a live pid is a live writer).
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(
        `${path}.lock`,
        JSON.stringify({ ...identityOf(path), pid: other.pid, startTime: undefined }),
      );
      expect(() => fileAuditSink({ path })).toThrow(
        new RegExp(`process ${other.pid} on .* is writing .*delete .*audit\\.jsonl\\.lock`),
      );
    } finally {
      other.kill();
    }
  });

  it('takes over a stale lock whose process is gone', async () => {
    const path = fresh();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(`${path}.lock`, JSON.stringify({ ...identityOf(path), pid: gone.pid }));
    const sink = fileAuditSink({ path });
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).toBe(process.pid);
    await sink.close();
  });
});

// Issue 6 item 7: two containers on a shared volume are both PID 1. A lock holding only a pid let
// the second take the first's lock as "stale" and fork the chain. The lock now names the writer by
// host, boot id, PID namespace and process start time; a lock from anywhere else is refused.
describe('writer lock on a shared volume (issue 6 item 7)', () => {
  /** What this process writes into its own lock. */
  async function ownIdentity(): Promise<Record<string, unknown>> {
    const path = fresh();
    const sink = fileAuditSink({ path });
    const identity = JSON.parse(readFileSync(`${path}.lock`, 'utf8')) as Record<string, unknown>;
    await sink.close();
    return identity;
  }

  it('records host, boot id, pid namespace and start time in the lock', async () => {
    const identity = await ownIdentity();
    expect(identity).toMatchObject({ pid: process.pid, host: expect.any(String) });
    if (process.platform === 'linux') {
      expect(identity.bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(identity.pidNs).toMatch(/^pid:\[\d+\]$/);
      expect(identity.startTime).toMatch(/^\d+$/);
    }
  });

  for (const [what, change] of [
    ['another host', { host: 'container-b' }],
    ['another boot id', { bootId: '00000000-0000-4000-8000-000000000000' }],
    ['another pid namespace', { pidNs: 'pid:[1]' }],
  ] as const) {
    it(`attack: a lock with the same pid but ${what} is refused, not taken as stale`, async () => {
      const path = fresh();
      const lock = { ...(await ownIdentity()), ...change }; // same pid value as ours: "both PID 1"
      writeFileSync(`${path}.lock`, JSON.stringify(lock));
      expect(() => fileAuditSink({ path })).toThrow(
        new RegExp(`process ${process.pid} on .* is writing .*delete .*audit\\.jsonl\\.lock`),
      );
      expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toEqual(lock); // untouched
    });
  }

  it('a lock naming this host, boot and namespace but a process start time that is not the live one is stale (pid reused)', async () => {
    if (process.platform !== 'linux') return; // start times are read from /proc
    const path = fresh();
    const lock = { ...(await ownIdentity()), startTime: '1' };
    writeFileSync(`${path}.lock`, JSON.stringify(lock));
    const sink = fileAuditSink({ path });
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).startTime).not.toBe('1');
    await sink.close();
  });

  it('a lock holding only a pid (older format) is refused: it cannot say where its writer runs', async () => {
    const path = fresh();
    writeFileSync(`${path}.lock`, String(process.pid));
    expect(() => fileAuditSink({ path })).toThrow(/delete .*audit\.jsonl\.lock/);
  });
});

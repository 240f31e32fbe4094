import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { fileAuditSink, PiplConfigError } from '../../src/index.js';

// One writer per audit log: a second writer would fork the chain.
const fresh = () => join(mkdtempSync(join(tmpdir(), 'pipl-lock-')), 'audit.jsonl');

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
    // Any live process stands in for the other writer: the lock only records a pid.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(`${path}.lock`, String(other.pid));
      expect(() => fileAuditSink({ path })).toThrow(
        new RegExp(`process ${other.pid} is writing .*delete .*audit\\.jsonl\\.lock`),
      );
    } finally {
      other.kill();
    }
  });

  it('takes over a stale lock whose process is gone', async () => {
    const path = fresh();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(`${path}.lock`, String(gone.pid));
    const sink = fileAuditSink({ path });
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(String(process.pid));
    await sink.close();
  });
});

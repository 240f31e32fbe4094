import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounting a tmpfs needs root; without it the tests that use a full disk are skipped. */
export const canMountTmpfs = process.getuid?.() === 0;

/**
 * A real 64 KiB tmpfs that can be filled (ENOSPC) and freed, as in test/audit/failure.test.ts.
 * `dispose()` unmounts it (lazily, so an open file cannot keep it busy).
 */
export function fullDisk() {
  const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-obs-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = fs.openSync(filler, 'w');
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096));
      } catch {
        // ENOSPC: the disk is full.
      } finally {
        fs.closeSync(fd);
      }
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    dispose() {
      execFileSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

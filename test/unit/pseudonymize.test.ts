/**
 * Issue 6 item 14: the pseudonymiser's cache of recent subject ids was bounded by count only, so
 * 10,000 distinct 15 KB ids (a client choosing long path ids) held about 150 MB of memory.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createPseudonymizer, PSEUDONYM_CACHE_BYTES } from '../../src/audit/pseudonymize.js';
import { AUDIT_KEY } from '../support/fixture.js';

// A full collection before each heap reading, so the figures are live memory and not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;

describe('pseudonymiser cache', () => {
  it('many 15 KB subject ids keep the cache under its byte budget (≤ 8 MB of heap)', () => {
    const pseudonymize = createPseudonymizer(AUDIT_KEY);
    const before = liveHeap();
    let last = '';
    for (let i = 0; i < 10_000; i++) {
      // A fresh flat 15,000-character string each time, as request parsing produces.
      last = pseudonymize(randomBytes(7500).toString('hex'));
    }
    const grown = liveHeap() - before;
    expect(last).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    // Count-bounded only, the cache held all 10,000 ids: ≈ 150 MB.
    expect(grown).toBeLessThan(8 * MB);
    // Keep the pseudonymiser (and its cache) alive until after the measurement.
    expect(pseudonymize('user-1')).toBe(pseudonymize('user-1'));
  });

  it('ids short enough to be cached (256 characters) stay within the 2 MiB byte budget', () => {
    const pseudonymize = createPseudonymizer(AUDIT_KEY);
    const before = liveHeap();
    for (let i = 0; i < 10_000; i++) pseudonymize(randomBytes(128).toString('hex'));
    const grown = liveHeap() - before;
    // Count-bounded only: ≈ 4 MB. Byte-bounded: the budget plus a little for the map itself.
    expect(PSEUDONYM_CACHE_BYTES).toBe(2 * MB);
    expect(grown).toBeLessThan(PSEUDONYM_CACHE_BYTES + MB / 2);
    expect(pseudonymize('user-1')).toBe(pseudonymize('user-1'));
  });

  it('still answers the same pseudonym for the same id, cached or not', () => {
    const pseudonymize = createPseudonymizer(AUDIT_KEY);
    const long = 'x'.repeat(15_000);
    const first = pseudonymize(long);
    for (let i = 0; i < 2_000; i++) pseudonymize(`subject-${i}-${'y'.repeat(2_000)}`);
    expect(pseudonymize(long)).toBe(first);
    expect(pseudonymize('user-1')).toBe(createPseudonymizer(AUDIT_KEY)('user-1'));
    expect(pseudonymize('user-1')).not.toBe(pseudonymize('user-2'));
  });
});

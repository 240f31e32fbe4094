import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { ChainHead, checkLine } from '../../src/audit/chain.js';

// checkLine is the verifier's full path (scanCanonical is its fast path): it must give the answer
// the canonical form gives, including where JSON.stringify of the parse would reproduce the text.
const head = new ChainHead('c');
const line = head
  .seal({ type: 'outcome', requestId: 'r-1', purpose: 'a.b', status: 200, durationMs: 1.5 })
  .line.trimEnd();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function rehash(record: Record<string, unknown>): { record: Record<string, unknown>; text: string } {
  const { hash: _old, ...body } = record;
  const hash = sha(canonicalize(body));
  const full = { ...body, hash };
  return { record: full, text: canonicalize(full) };
}

describe('checkLine', () => {
  it('accepts what ChainHead writes', () => {
    expect(checkLine(JSON.parse(line), line)).toEqual({ canonical: true, hashOk: true });
  });

  it('refuses unsorted keys even when JSON.stringify reproduces the text', () => {
    const record = JSON.parse(line) as Record<string, unknown>;
    const unsorted = { status: record.status, ...record };
    const text = JSON.stringify(unsorted);
    expect(checkLine(JSON.parse(text), text).canonical).toBe(false);
  });

  it('refuses nested keys out of order', () => {
    const { record, text } = rehash({ ...JSON.parse(line), extra: { b: 1, a: 2 } });
    expect(checkLine(record, text)).toEqual({ canonical: true, hashOk: true });
    const swapped = text.replace('{"a":2,"b":1}', '{"b":1,"a":2}');
    expect(checkLine(JSON.parse(swapped), swapped).canonical).toBe(false);
  });

  it('handles integer-like keys, which JavaScript objects reorder, on the full path', () => {
    const { text } = rehash({ ...JSON.parse(line), extra: { '10': 'x', '9': 'y', a: 1 } });
    // Canonical order is by code units: "10" < "9" < "a"; the parse enumerates 9 before 10.
    expect(text).toContain('{"10":"x","9":"y","a":1}');
    expect(checkLine(JSON.parse(text), text)).toEqual({ canonical: true, hashOk: true });
  });

  it('is not fooled by a nested member that repeats the top-level hash', () => {
    const base = JSON.parse(line) as Record<string, unknown>;
    // A forged record: a nested {"hash": H} placed before the real one, with H = the stored hash.
    const forged = { ...base, actor: { a: 1, hash: base.hash } };
    const text = canonicalize(forged);
    expect(text.indexOf(`,"hash":"${base.hash}"`)).toBeLessThan(text.lastIndexOf(`,"hash":"${base.hash}"`));
    expect(checkLine(JSON.parse(text), text)).toEqual({ canonical: true, hashOk: false });
  });

  it('flags a changed value and a spaced one', () => {
    const changed = line.replace('"status":200', '"status":201');
    expect(checkLine(JSON.parse(changed), changed)).toEqual({ canonical: true, hashOk: false });
    const spaced = line.replace('"status":200', '"status": 200');
    expect(checkLine(JSON.parse(spaced), spaced).canonical).toBe(false);
  });
});

describe('lines that are JSON but not records', () => {
  for (const text of ['null', '5', '[]', '"text"', 'true']) {
    it(`reports ${text} as a malformed record instead of failing`, async () => {
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { verifyAuditLog, verifyAuditTrail } = await import('../../src/audit/index.js');
      const path = join(mkdtempSync(join(tmpdir(), 'pipl-json-')), 'audit.jsonl');
      writeFileSync(path, `${line}\n${text}\n`);
      const trail = await verifyAuditTrail(path);
      expect(trail.problems.map((p) => [p.kind, p.line])).toEqual([['record_malformed', 2]]);
      expect((await verifyAuditLog(path)).problem).toMatchObject({
        kind: 'malformed',
        line: 2,
        expectedSeq: 1,
      });
    });
  }
});

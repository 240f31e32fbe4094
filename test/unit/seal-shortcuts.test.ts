import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalize, quoteString } from '../../src/audit/canonical.js';
import { ChainHead, checkLine, recordHash } from '../../src/audit/chain.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditEvent, AuditRecord } from '../../src/audit/record.js';
import { verifyAuditLog } from '../../src/audit/verify.js';

// Sealing reuses the text of members whose value repeats, and cuts the stored line out of the hashed
// text (issue 10). Each shortcut must give the bytes the plain canonical form gives, whatever the
// event looks like and however it changes between records.

/** What a record's line must be: its canonical form, the hash member in sorted place. */
function expectCanonical(line: string, record: AuditRecord): void {
  expect(line).toBe(`${canonicalize(record)}\n`);
  expect(record.hash).toBe(recordHash(record));
  expect(checkLine(JSON.parse(line), line.slice(0, -1))).toEqual({ canonical: true, hashOk: true });
}

describe('sealing shortcuts', () => {
  it('a reused event whose mutable parts changed is sealed with the new values, not remembered text', () => {
    const head = new ChainHead('c1');
    const actor = { id: 'a-1', type: 'staff' };
    const categories = ['contact'];
    const event = { type: 'custom', actor, categories, route: '/a', n: 1 } as unknown as AuditEvent;
    const first = head.seal(event);
    expectCanonical(first.line, first.record);
    actor.id = 'a-2'; // same object, new content
    categories.push('identity_basic');
    (event as unknown as { route: string }).route = '/b';
    const { line, record } = head.seal(event);
    expect(JSON.parse(line)).toMatchObject({
      actor: { id: 'a-2' },
      categories: ['contact', 'identity_basic'],
      route: '/b',
    });
    expectCanonical(line, record);
  });

  it('a frozen part repeated across records is written the same, canonically, each time', () => {
    const head = new ChainHead('c1');
    const enforcer = Object.freeze({ version: '1', service: 's', instance: 'i' });
    for (let i = 0; i < 3; i++) {
      const { line, record } = head.seal({ type: 'custom', enforcer, i } as unknown as AuditEvent);
      expect(line).toContain('"enforcer":{"instance":"i","service":"s","version":"1"}');
      expectCanonical(line, record);
    }
  });

  it('minimal events, with only the chain members before `hash`, are canonical', () => {
    const head = new ChainHead('c1');
    // `chain` always sorts before `hash`: these put nothing else before it, or one member after it.
    for (const event of [{ type: 'x' }, { type: 'x', a: 1 }, { type: 'x', zz: [1, 'two', null, true] }]) {
      const { line, record } = head.seal(event as unknown as AuditEvent);
      expectCanonical(line, record);
    }
  });

  it('a prev handed in by recovery is quoted like any string; hashes the head made itself are written as they are', () => {
    // The chain's own ids, times and hashes skip the quoting check; a recovered prev must not.
    const head = new ChainHead('c-recovered', 7, 'not "hex" \\ at all\n');
    for (let i = 0; i < 3; i++) {
      const { line, record } = head.seal({
        type: 'writer_stop',
        enforcer: { service: 's', instance: 'i', version: '1' },
      });
      expectCanonical(line, record);
    }
  });

  it('random event shapes and values seal to their canonical form, in any order of appearance', () => {
    const head = new ChainHead('c1');
    const keys = [
      'actor',
      'basis',
      'consent',
      'hashAlg',
      'héllo',
      'id2',
      'note',
      'route',
      'status',
      'zeta',
      '10',
      '9',
    ];
    const values: unknown[] = [
      null,
      0,
      -0,
      1.5,
      1e21,
      'plain',
      'quote " backslash \\ tab \t',
      '中文 emoji 🔒 lone \ud800',
      true,
      [],
      [1, [2, { b: 1, a: 2 }]],
      { z: 1, a: { y: 2, b: 3 } },
      Object.freeze({ b: 'x', a: 'y' }),
    ];
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const event: Record<string, unknown> = { type: `t${next(3)}` };
      for (const key of keys) if (next(2) === 0) event[key] = values[next(values.length)];
      const { line, record } = head.seal(event as unknown as AuditEvent);
      expectCanonical(line, record);
    }
  });

  it('records of one shape share the member array: a left-out member, a seal from inside a seal and a throw do not mix them up', () => {
    const head = new ChainHead('c1');
    const seal = (event: Record<string, unknown>) => {
      const sealed = head.seal(event as unknown as AuditEvent);
      expectCanonical(sealed.line, sealed.record);
      return JSON.parse(sealed.line) as Record<string, unknown>;
    };
    expect(seal({ type: 'shared', a: 1, b: 'x', c: true })).toMatchObject({ a: 1, b: 'x', c: true });
    // Same keys, one of them undefined: JSON leaves it out, and the next record has all of its own again.
    const gap = seal({ type: 'shared', a: 2, b: undefined, c: false });
    expect(gap).toMatchObject({ a: 2, c: false });
    expect('b' in gap).toBe(false);
    expect(seal({ type: 'shared', a: 3, b: 'y', c: true })).toMatchObject({ a: 3, b: 'y', c: true });
    // A getter that seals a record of the same shape while this one is being built.
    let inner: Record<string, unknown> | undefined;
    const outer = {
      type: 'shared',
      a: 4,
      get b() {
        inner ??= seal({ type: 'shared', a: 40, b: 'inner', c: false });
        return 'outer';
      },
      c: true,
    };
    expect(seal(outer)).toMatchObject({ a: 4, b: 'outer', c: true });
    expect(inner).toMatchObject({ a: 40, b: 'inner', c: false });
    // A value that cannot be written throws; the next record of the shape is whole.
    expect(() =>
      head.seal({ type: 'shared', a: Number.NaN, b: 'z', c: true } as unknown as AuditEvent),
    ).toThrow();
    expect(seal({ type: 'shared', a: 5, b: 'z', c: false })).toMatchObject({ a: 5, b: 'z', c: false });
    expect(head.seq).toBe(6); // a: 1, 2, 3, 40, 4, 5; the throw sealed nothing
  });
});

describe('string quoting', () => {
  it('writes every string as JSON.stringify does: plain ASCII directly, the rest through it', () => {
    // Every code unit from 0 to 0x7f, some beyond, and lone and paired surrogates, each alone and
    // inside plain text at the start, middle and end.
    const units = [
      ...Array.from({ length: 0x80 }, (_, c) => c),
      0x80,
      0xa0,
      0x4e2d,
      0xd800,
      0xdbff,
      0xdc00,
      0xdfff,
      0xfffe,
    ];
    const samples = ['', 'plain', '019adf3c-b2a1-7c3e-8f00-0123456789ab', 'hmac-sha256:3q2-7w_A'];
    for (const unit of units) {
      const c = String.fromCharCode(unit);
      samples.push(c, `${c}abc`, `ab${c}cd`, `abc${c}`, `${c}${c}`);
    }
    samples.push('\ud83d\udd12', 'x\ud83d\udd12y', `${'a'.repeat(300)}"`);
    for (const text of samples) expect(quoteString(text), JSON.stringify(text)).toBe(JSON.stringify(text));
  });
});

describe('file sink batch encoding', () => {
  it('batches larger than the reused buffer, with multi-byte text, are written whole and in order', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-encode-'));
    const path = join(dir, 'audit.jsonl');
    const sink = fileAuditSink({ path, maxQueueRecords: 5000, maxQueueBytes: 64 * 1024 * 1024 });
    // One synchronous burst: it becomes one batch of about 2 MB, far beyond the 64 KB buffer.
    const note = '个人信息保护法 🔒 '.repeat(40);
    for (let i = 0; i < 2000; i++) sink.append({ type: 'custom', i, note } as unknown as AuditEvent);
    await sink.close();
    const lines = fs.readFileSync(path, 'utf8').trimEnd().split('\n');
    const custom = lines.map((line) => JSON.parse(line)).filter((record) => record.type === 'custom');
    expect(custom.map((record) => record.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(custom.every((record) => record.note === note)).toBe(true);
    expect((await verifyAuditLog(path)).valid).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

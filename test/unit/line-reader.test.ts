import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuditLine, readAuditLines, readFileLines } from '../../src/audit/reader.js';

// The reader streams 1 MiB chunks and joins a line that spans two of them. Whatever the bytes, it
// must give what reading each line alone gives: this reference does exactly that, on files that
// cross the chunk boundary.

const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-lines-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Line by line, the plain way: split the bytes on LF, check and decode each line alone. */
function reference(bytes: Buffer, file: string, maxLineBytes: number): AuditLine[] {
  const out: AuditLine[] = [];
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const part = bytes.subarray(start, end);
    const torn = newline < 0;
    line++;
    if (part.length > maxLineBytes) {
      const problem = `line of ${part.length} bytes exceeds the ${maxLineBytes}-byte limit`;
      out.push({ text: '', file, line, torn, problem });
    } else if (!isUtf8(part)) {
      out.push({ text: '', file, line, torn, problem: 'bytes are not valid UTF-8' });
    } else out.push({ text: part.toString('utf8'), file, line, torn });
    start = end + 1;
  }
  return out;
}

async function read(file: string, maxLineBytes?: number): Promise<AuditLine[]> {
  const out: AuditLine[] = [];
  for await (const entry of readFileLines(file, maxLineBytes)) out.push(entry);
  return out;
}

function write(name: string, bytes: Buffer): string {
  const file = join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const record = (i: number) => `{"i":${i},"note":"个人信息 🔒 ${'x'.repeat(i % 700)}"}`;

describe('line reader', () => {
  it('reads lines that cross chunk boundaries, multi-byte characters included, as the reference does', async () => {
    const text = `${Array.from({ length: 6000 }, (_, i) => record(i)).join('\n')}\n`;
    const file = write('many.jsonl', Buffer.from(text));
    expect(fs.statSync(file).size).toBeGreaterThan(2 * 1024 * 1024);
    expect(await read(file)).toEqual(reference(fs.readFileSync(file), file, 1024 * 1024));
  });

  it('reports only the line with a byte that is not UTF-8, among good lines', async () => {
    const good = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${record(i)}\n`));
    good[1500] = Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    const file = write('bad-byte.jsonl', Buffer.concat(good));
    const lines = await read(file);
    expect(lines).toEqual(reference(fs.readFileSync(file), file, 1024 * 1024));
    expect(lines.filter((l) => l.problem !== undefined).map((l) => l.line)).toEqual([1501]);
  });

  it('reports bad bytes in the line that crosses a chunk boundary and in later chunks alike', async () => {
    // Whole lines of a chunk are checked as one run and decoded without a check of their own;
    // a bad byte anywhere must still mark exactly its own line.
    const lines = Array.from({ length: 9000 }, (_, i) => Buffer.from(`${record(i)}\n`));
    const offsets: number[] = [];
    let at = 0;
    for (const line of lines) {
      offsets.push(at);
      at += line.length;
    }
    const straddling = offsets.findIndex((offset, i) => offset < 1 << 20 && (offsets[i + 1] ?? 0) > 1 << 20);
    expect(straddling).toBeGreaterThan(0);
    const bad = [straddling, straddling + 1, straddling + 700, lines.length - 2];
    for (const i of bad)
      lines[i] = Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xc3]), Buffer.from('"}\n')]);
    // Keep the straddling line long enough to cross the boundary after the edit.
    lines[straddling] = Buffer.concat([
      Buffer.from('x'.repeat(2000)),
      Buffer.from([0xe4, 0xb8]),
      Buffer.from('\n'),
    ]);
    const file = write('bad-later.jsonl', Buffer.concat(lines));
    const got = await read(file);
    expect(got).toEqual(reference(fs.readFileSync(file), file, 1024 * 1024));
    expect(got.filter((l) => l.problem !== undefined).map((l) => l.line)).toEqual(bad.map((i) => i + 1));
  });

  it('keeps CR, a BOM, empty lines and a torn last line exactly', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"a":1}\r\n\n\n{"b":2}\n{"torn":'),
    ]);
    const file = write('odd.jsonl', bytes);
    const lines = await read(file);
    expect(lines).toEqual(reference(bytes, file, 1024 * 1024));
    expect(lines.map((l) => l.text)).toEqual(['\ufeff{"a":1}\r', '', '', '{"b":2}', '{"torn":']);
    expect(lines.at(-1)?.torn).toBe(true);
  });

  it('reports over-long lines, inside a chunk and across chunks, without their text', async () => {
    const max = 4096;
    const parts = [
      record(1),
      'y'.repeat(5000),
      record(2),
      '中'.repeat(1500),
      'z'.repeat(3 * 1024 * 1024),
      record(3),
    ];
    const file = write('long.jsonl', Buffer.from(`${parts.join('\n')}\n`));
    const lines = await read(file, max);
    expect(lines).toEqual(reference(fs.readFileSync(file), file, max));
    expect(lines.filter((l) => l.problem !== undefined).map((l) => l.line)).toEqual([2, 4, 5]);
  });

  it('reads a plain log through readAuditLines', async () => {
    const file = write('plain.jsonl', Buffer.from('{"n":1}\n{"n":2}\n'));
    const out: string[] = [];
    for await (const entry of readAuditLines(file)) out.push(entry.text);
    expect(out).toEqual(['{"n":1}', '{"n":2}']);
  });
});

import { describe, expect, it } from 'vitest';
import { displayWidth, jsonSafe, printable, streamTable, timeFormatter } from '../../src/cli/output.js';

describe('CLI output helpers', () => {
  it('printable shows controls, bidi and format characters as escapes and keeps CJK', () => {
    expect(printable('a\u001b[2Kb\u202ec\u2066d\u200be\u009bf\u007f病历\t')).toBe(
      'a\\u{1b}[2Kb\\u{202e}c\\u{2066}d\\u{200b}e\\u{9b}f\\u{7f}病历\\u{9}',
    );
    expect(printable('lone \ud800 surrogate')).toBe('lone \\u{d800} surrogate');
  });

  it('jsonSafe keeps the JSON value and its structure', () => {
    const value = { route: '/x\u202e\u0085\u2028', n: [1, 2] };
    const text = jsonSafe(JSON.stringify(value, null, 2));
    expect(text).not.toMatch(/[\u0085\u2028\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('displayWidth counts CJK and fullwidth as two columns', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('医生-王')).toBe(7);
    expect(displayWidth('ＡＢ')).toBe(4);
  });

  it('streamTable aligns on the widest cell and cuts cells over the column maximum with …', () => {
    const out: string[] = [];
    const table = streamTable(
      [
        { title: 'a', max: 6 },
        { title: 'n', max: 4, alignRight: true },
      ],
      (line) => out.push(line),
    );
    table.row(['病历', '1']);
    table.row(['abcdefghij', '22']);
    table.end();
    expect(out).toEqual(['a        n', '病历     1', 'abcde…  22']);
  });

  it('timeFormatter shows a time in an IANA zone, and refuses an unknown one', () => {
    expect(timeFormatter('Asia/Shanghai')('2026-11-01T00:00:01.000Z')).toBe('2026-11-01 08:00:01.000 +08:00');
    expect(timeFormatter('UTC')('2026-11-01T00:00:01.000Z')).toBe('2026-11-01 00:00:01.000 +00:00');
    expect(timeFormatter(undefined)('2026-11-01T00:00:01.000Z')).toBe('2026-11-01T00:00:01.000Z');
    expect(() => timeFormatter('Mars/Olympus')).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { ChainHead, uuidv7 } from '../../src/audit/chain.js';

describe('uuidv7 (record and request ids)', () => {
  it('is an RFC 9562 version 7 UUID: time prefix, version 7, variant 10, and distinct across pool refills', () => {
    const now = Date.parse('2026-12-01T07:00:00.123Z');
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = uuidv7(now);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
    const id = uuidv7(now);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
  });

  it('spreads its random bits: every hex digit of the random part takes many values', () => {
    const digits = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) {
      const hex = uuidv7(0).replaceAll('-', '');
      for (let d = 0; d < 32; d++) digits[d]?.add(hex[d] as string);
    }
    // rand_a (digits 13–15), the variant digit (16: 8–b only) and rand_b (17–31).
    for (const d of [13, 14, 15, ...Array.from({ length: 15 }, (_, k) => 17 + k)])
      expect(digits[d]?.size).toBe(16);
    expect([...(digits[16] as Set<string>)].sort()).toEqual(['8', '9', 'a', 'b']);
    expect([...(digits[12] as Set<string>)]).toEqual(['7']);
  });

  it('formats time like toISOString and the id time like the 48-bit hex, across second and 4,096 ms boundaries', () => {
    const start = Date.parse('2026-12-01T07:59:58.990Z');
    const times = [
      ...Array.from({ length: 9000 }, (_, k) => start + k), // crosses seconds, minutes, an hour and 4,096 ms steps
      0,
      999,
      1000,
      4095,
      4096,
      Date.parse('2026-12-31T23:59:59.999Z'),
      Date.parse('2027-01-01T00:00:00.000Z'),
      Date.parse('9999-12-31T23:59:59.999Z'),
      Date.parse('+010000-01-01T00:00:00.001Z'), // a six-digit year: toISOString's other width
      start + 1234, // back in time: nothing is cached by direction
      ...Array.from({ length: 2000 }, () => Math.floor(Math.random() * 2 ** 47)),
    ];
    const head = new ChainHead('clock-test');
    for (const t of times) {
      const hex = t.toString(16).padStart(12, '0');
      expect(uuidv7(t).slice(0, 15)).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`);
      const sealed = head.seal(
        { type: 'writer_stop', enforcer: { service: 's', instance: 'i', version: '1' } },
        t,
      );
      expect(sealed.time).toBe(new Date(t).toISOString());
      expect(sealed.record.id.slice(0, 13)).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}`);
    }
  });
});

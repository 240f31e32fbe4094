import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/audit/chain.js';

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
});

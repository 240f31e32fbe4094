import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { scanCanonical } from '../../src/audit/canonical-scan.js';
import { ChainHead, checkLine, recordHash, scannedHashOk } from '../../src/audit/chain.js';
import type { AuditEvent } from '../../src/audit/record.js';

// The verifier trusts scanCanonical to say "canonical" only of canonical lines, and to read the
// same chain fields a parse reads. These tests hold it to the full path (parse, then checkLine)
// on real records, on random canonical values and on many thousands of mutations of both: a line
// the scanner accepts must be one the full path calls canonical, with equal fields and hash verdict.

/** Deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enforcer = Object.freeze({ service: 'svc', instance: 'svc-1', version: '1.0.0' });

function sealedLines(): string[] {
  const head = new ChainHead('scan-test');
  const events: AuditEvent[] = [
    { type: 'writer_start', pid: 1, cleanShutdown: false, repairedBytes: 12 } as unknown as AuditEvent,
    {
      type: 'decision',
      requestId: 'req-1',
      actor: null,
      subject: 'hmac-sha256:abc',
      method: 'GET',
      route: '/users/:id',
      purpose: 'account.profile',
      categories: ['identity_basic', 'contact'],
      operation: 'use',
      basis: 'consent',
      consent: { id: 'c-1', noticeVersion: 2, type: 'general' },
      decision: 'allow',
      reason: 'consent_valid',
      status: 200,
      enforcer,
    } as unknown as AuditEvent,
    { type: 'outcome', requestId: 'req-1', purpose: 'a.b', status: 200, durationMs: 1.375 } as AuditEvent,
    {
      type: 'decision',
      requestId: '请求-2',
      actor: { id: 'op-7', role: 'support' },
      subject: 'hmac-sha256:设备',
      method: 'POST',
      route: '/订单/:id',
      purpose: 'orders.跨境',
      categories: ['financial_account'],
      operation: 'transfer_abroad',
      basis: 'separate_consent',
      decision: 'deny',
      reason: 'separate_consent_missing',
      status: 403,
      enforcer,
    } as unknown as AuditEvent,
    {
      type: 'dropped',
      count: 3,
      outcomes: 1,
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-01T00:00:01.000Z',
      cause: 'queue_full',
    } as unknown as AuditEvent,
  ];
  return events.map((event, n) => head.seal(event, Date.parse('2026-11-01T00:00:00Z') + n).line.trimEnd());
}

/** The full path's answer: parse, and checkLine for canonical form and hash. */
function fullPath(text: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  return { record, ...checkLine(record, text), sm3: checkLine(record, text, 'sm3').hashOk };
}

/** Fails the test unless the scanner either declines or agrees with the full path in every respect. */
function expectSound(text: string): boolean {
  const scanned = scanCanonical(text);
  if (scanned === undefined) return false;
  const full = fullPath(text);
  expect(full, text).toBeDefined();
  if (full === undefined) return false;
  expect(full.canonical, text).toBe(true);
  const { record } = full;
  expect(
    {
      seq: scanned.seq,
      hash: scanned.hash,
      chain: scanned.chain,
      prev: scanned.prev,
      type: scanned.type,
      time: scanned.time,
    },
    text,
  ).toEqual({
    seq: record.seq,
    hash: record.hash,
    chain: record.chain,
    prev: record.prev,
    type: record.type,
    time: record.time,
  });
  expect(typeof record.seq, text).toBe('number');
  expect(scannedHashOk(text, scanned), text).toBe(full.hashOk);
  expect(scannedHashOk(text, scanned, 'sm3'), text).toBe(full.sm3);
  return true;
}

const ALPHABET = [
  ...'{}[],:"\\ \t\n0123456789-+.eEtrufalsnxa/',
  'é',
  '中',
  '\u2028',
  '\u007f',
  '\u0000',
  '\ud800',
  '\udc00',
  '😀',
];

function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  const pick = () => ALPHABET[Math.floor(random() * ALPHABET.length)] as string;
  switch (Math.floor(random() * 6)) {
    case 0:
      return text.slice(0, at) + pick() + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + pick() + text.slice(at);
    case 2:
      return text.slice(0, at) + text.slice(at + 1);
    case 3: {
      // Copy a stretch of the line elsewhere: duplicate members, nested braces, repeated keys.
      const from = Math.floor(random() * text.length);
      const piece = text.slice(from, from + 1 + Math.floor(random() * 40));
      return text.slice(0, at) + piece + text.slice(at);
    }
    case 4: {
      const numbers = [
        '1.0',
        '1e2',
        '-0',
        '01',
        '1.5e-7',
        '0.1',
        '1e21',
        '1e+21',
        '9007199254740993',
        '-',
        '1.',
        '.5',
        '1E2',
      ];
      const digit = text.search(/\d/);
      const number = numbers[Math.floor(random() * numbers.length)] as string;
      return digit < 0 ? text : text.replace(/-?\d+(\.\d+)?/, number);
    }
    default: {
      // Swap two neighbouring top-level members (of a line that still parses).
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return text.slice(0, at) + text.slice(at + 2);
      }
      const keys = Object.keys(record);
      const i = Math.floor(random() * (keys.length - 1));
      [keys[i], keys[i + 1]] = [keys[i + 1] as string, keys[i] as string];
      return `{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(record[key])}`).join(',')}}`;
    }
  }
}

/** A random JSON value of the kinds records hold, with awkward keys and numbers. */
function randomValue(random: () => number, depth: number): unknown {
  const kind = Math.floor(random() * (depth > 3 ? 4 : 6));
  switch (kind) {
    case 0:
      return randomString(random);
    case 1: {
      const choices = [
        0,
        -0,
        1,
        -1,
        1.5,
        0.1,
        1e21,
        1e-7,
        123456789012345,
        2 ** 53 + 2,
        -2.5e-300,
        random() * 1e6,
      ];
      return choices[Math.floor(random() * choices.length)];
    }
    case 2:
      return random() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let n = Math.floor(random() * 5); n > 0; n--)
        object[randomKey(random)] = randomValue(random, depth + 1);
      return object;
    }
  }
}

function randomKey(random: () => number): string {
  const keys = [
    'a',
    'b',
    'A',
    'aa',
    'a!',
    '10',
    '9',
    '1',
    'é',
    'z',
    '中',
    '',
    'hash',
    'seq',
    '__proto__',
    'ab',
  ];
  return keys[Math.floor(random() * keys.length)] as string;
}

function randomString(random: () => number): string {
  const parts = ['plain', '中文', 'é', '"', '\\', '\n', '\u0001', '😀', '\ud800', '/', ' '];
  let out = '';
  for (let n = Math.floor(random() * 3); n >= 0; n--) out += parts[Math.floor(random() * parts.length)];
  return out;
}

const lines = sealedLines();

/** The decision record with an `extra` member and its hash recomputed: canonical, hash intact. */
function resealedWith(extra: unknown): string {
  const { hash: _hash, ...body } = JSON.parse(lines[1] as string) as Record<string, unknown>;
  const record = { ...body, extra };
  return canonicalize({ ...record, hash: recordHash(record as never) });
}

describe('scanCanonical', () => {
  it('reads every record ChainHead writes, with the fields a parse reads and a matching hash', () => {
    for (const line of lines) {
      expect(expectSound(line), line).toBe(true);
      expect(scannedHashOk(line, scanCanonical(line) as NonNullable<ReturnType<typeof scanCanonical>>)).toBe(
        true,
      );
    }
  });

  it.each([
    ['whitespace between members', (t: string) => t.replace('","', '", "')],
    [
      'a key out of order',
      (t: string) => t.replace('"actor":null,"basis":"consent"', '"basis":"consent","actor":null'),
    ],
    [
      'a repeated key (the parse keeps the last)',
      (t: string) => t.replace('"actor":null,', '"actor":null,"actor":null,'),
    ],
    ['an escaped character that stands for itself', (t: string) => t.replace('"GET"', '"\\u0047ET"')],
    ['a number with a needless fraction', (t: string) => t.replace('"status":200', '"status":200.0')],
    ['a number in exponent form', (t: string) => t.replace('"status":200', '"status":2e2')],
    ['minus zero', (t: string) => t.replace('"status":200', '"status":-0')],
    ['a leading zero', (t: string) => t.replace('"status":200', '"status":0200')],
    [
      'an integer beyond 2^53 that rounds',
      (t: string) => t.replace('"status":200', '"status":9007199254740993'),
    ],
    ['a trailing byte after the record', (t: string) => `${t} `],
    ['a carriage return at the end', (t: string) => `${t}\r`],
    ['a byte-order mark', (t: string) => `\ufeff${t}`],
    ['a seq that is a string', (t: string) => t.replace(/"seq":(\d+)/, '"seq":"$1"')],
    ['a seq that is true', (t: string) => t.replace(/"seq":(\d+)/, '"seq":true')],
    ['a hash that is null', (t: string) => t.replace(/"hash":"[0-9a-f]+"/, '"hash":null')],
    ['no chain', (t: string) => t.replace('"chain":"scan-test",', '')],
    [
      'a nested key out of order',
      (t: string) => t.replace('{"id":"c-1","noticeVersion":2', '{"noticeVersion":2,"id":"c-1"'),
    ],
    ['an unterminated string', (t: string) => t.slice(0, t.length - 3)],
  ])('declines %s', (_name, edit) => {
    const decision = lines[1] as string;
    const edited = edit(decision);
    expect(edited).not.toBe(decision);
    expect(scanCanonical(edited)).toBeUndefined();
  });

  it('accepts what the full path accepts for keys JavaScript reorders and for numbers it must write back', () => {
    const text = resealedWith({ '10': 'x', '9': 'y', a: [1.5, 1e21, 1e-7, -2, 0, 123456789012345680] });
    expect(text).toContain('{"10":"x","9":"y","a":[1.5,1e+21,1e-7,-2,0,123456789012345680]}');
    expect(expectSound(text)).toBe(true);
  });

  it('never accepts a line the full path calls non-canonical, or reads it differently (mutation fuzz)', () => {
    const random = prng(20261202);
    let accepted = 0;
    let mutants = 0;
    const seeds = [...lines];
    for (let n = 0; n < 300; n++) seeds.push(resealedWith(randomValue(random, 0)));
    for (const seed of seeds) {
      expectSound(seed);
      let text = seed;
      for (let n = 0; n < 60; n++) {
        // Mostly one edit away from a canonical line; sometimes edits pile up.
        text = mutate(random() < 0.7 ? seed : text, random);
        mutants++;
        if (expectSound(text)) accepted++;
      }
    }
    // The fuzz must reach both sides: lines the scanner reads and lines it declines.
    expect(mutants).toBeGreaterThan(15_000);
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(mutants);
    console.log(`scanCanonical fuzz: ${accepted} of ${mutants} mutants read by the scanner`);
  });
});

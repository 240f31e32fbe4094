/**
 * A verifier's shortcut: reads the chain fields of a stored line while checking, in one pass over
 * its characters, that the line is already in canonical form (RFC 8785 JCS, see `canonical.ts`),
 * without parsing it into objects and serialising it back.
 *
 * It only ever answers "canonical, and these are its fields" or "don't know": a line with an escape
 * in a string, a surrogate, a control character, whitespace, a key out of order or repeated, a
 * non-canonical number or anything else outside the simple subset gets `undefined`, and the caller
 * takes the full parse-and-serialise path, which decides and reports. So the subset may be narrow;
 * what it accepts must be exactly canonical. `test/unit/canonical-scan.test.ts` holds it to that
 * against the full path on mutated records.
 */

import { MAX_RECORD_DEPTH } from './reader.js';

/** The chain fields of a canonical line, and where its top-level `hash` member lies. */
export interface ScannedRecord {
  seq: number;
  hash: string;
  chain: string;
  prev: string | undefined;
  type: string | undefined;
  time: string | undefined;
  /**
   * The line without `text.slice(hashFrom, hashTo)` — the `,"hash":"…"` member — is what was
   * hashed. `chain` sorts before `hash`, so the member is never first and starts with its comma.
   */
  hashFrom: number;
  hashTo: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Integers of up to 15 digits convert exactly: their digits are their canonical form. */
const EXACT_DIGITS = 15;

/**
 * The chain fields of `text` if it is a canonical audit record in the subset this scanner reads;
 * `undefined` if it is not, or if only the full path can tell.
 */
export function scanCanonical(text: string): ScannedRecord | undefined {
  if (text.charCodeAt(0) !== OPEN_OBJECT || text.charCodeAt(1) !== QUOTE) return undefined;
  let seq: number | undefined;
  let hash: string | undefined;
  let chain: string | undefined;
  let prev: string | undefined;
  let type: string | undefined;
  let time: string | undefined;
  let hashFrom = -1;
  let hashTo = -1;
  let previousKey = -1;
  let previousKeyEnd = -1;
  let at = 1;
  for (;;) {
    const keyEnd = stringEnd(text, at);
    if (keyEnd < 0 || text.charCodeAt(keyEnd) !== COLON) return undefined;
    if (previousKey >= 0 && !sortsBefore(text, previousKey, previousKeyEnd, at, keyEnd)) return undefined;
    const valueAt = keyEnd + 1;
    const valueEnd = valueEndOf(text, valueAt, 1);
    if (valueEnd < 0) return undefined;
    const isString = text.charCodeAt(valueAt) === QUOTE;
    // Keys are compared by their quoted text: `"seq"` is five characters from `at`.
    switch (keyEnd - at) {
      case 5:
        if (text.startsWith('"seq"', at)) {
          if (isString) return undefined;
          seq = Number(text.slice(valueAt, valueEnd));
        }
        break;
      case 6:
        if (text.startsWith('"hash"', at)) {
          if (!isString) return undefined;
          hash = text.slice(valueAt + 1, valueEnd - 1);
          hashFrom = at - 1;
          hashTo = valueEnd;
        } else if (text.startsWith('"prev"', at)) {
          if (!isString) return undefined;
          prev = text.slice(valueAt + 1, valueEnd - 1);
        } else if (text.startsWith('"type"', at)) {
          if (!isString) return undefined;
          type = text.slice(valueAt + 1, valueEnd - 1);
        } else if (text.startsWith('"time"', at)) {
          if (!isString) return undefined;
          time = text.slice(valueAt + 1, valueEnd - 1);
        }
        break;
      case 7:
        if (text.startsWith('"chain"', at)) {
          if (!isString) return undefined;
          chain = text.slice(valueAt + 1, valueEnd - 1);
        }
        break;
    }
    previousKey = at;
    previousKeyEnd = keyEnd;
    const next = text.charCodeAt(valueEnd);
    if (next === CLOSE_OBJECT) {
      if (valueEnd + 1 !== text.length) return undefined;
      break;
    }
    if (next !== COMMA || text.charCodeAt(valueEnd + 1) !== QUOTE) return undefined;
    at = valueEnd + 1;
  }
  // `seq` must be a number; a string seq was refused above, so only `true`/`false`/`null` or a
  // container can give NaN here. With `chain` present (it sorts before `hash`, and keys ascend),
  // the `hash` member is not first: `hashFrom` is its comma.
  if (seq === undefined || !Number.isFinite(seq) || hash === undefined || chain === undefined)
    return undefined;
  return { seq, hash, chain, prev, type, time, hashFrom, hashTo };
}

/** End (exclusive) of the canonical JSON value starting at `at`, or -1. */
function valueEndOf(text: string, at: number, depth: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first === OPEN_OBJECT) return depth < MAX_RECORD_DEPTH ? objectEnd(text, at, depth + 1) : -1;
  if (first === OPEN_ARRAY) return depth < MAX_RECORD_DEPTH ? arrayEnd(text, at, depth + 1) : -1;
  if (first === MINUS || (first >= ZERO && first <= NINE)) return numberEnd(text, at);
  if (text.startsWith('null', at)) return at + 4;
  if (text.startsWith('true', at)) return at + 4;
  if (text.startsWith('false', at)) return at + 5;
  return -1;
}

/**
 * End of the string starting at the quote at `at`, or -1. Only strings without escapes, control
 * characters or surrogates: each of their characters stands for itself, which is how JSON.stringify
 * writes them, and two of them compare by code units just as their values do.
 */
function stringEnd(text: string, at: number): number {
  const length = text.length;
  for (let i = at + 1; i < length; i++) {
    const c = text.charCodeAt(i);
    if (PLAIN[c] === 0) return c === QUOTE ? i + 1 : -1;
  }
  return -1;
}

/** 1 for the characters a canonical string holds as themselves: not `"`, `\\`, controls, surrogates. */
const PLAIN = new Uint8Array(0x10000).fill(1, 0x20);
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;
PLAIN.fill(0, 0xd800, 0xe000);

/** End of the object at `at`: keys strictly ascending (so none repeats), no whitespace. */
function objectEnd(text: string, at: number, depth: number): number {
  let i = at + 1;
  if (text.charCodeAt(i) === CLOSE_OBJECT) return i + 1;
  let previousKey = -1;
  let previousKeyEnd = -1;
  for (;;) {
    const keyEnd = text.charCodeAt(i) === QUOTE ? stringEnd(text, i) : -1;
    if (keyEnd < 0 || text.charCodeAt(keyEnd) !== COLON) return -1;
    if (previousKey >= 0 && !sortsBefore(text, previousKey, previousKeyEnd, i, keyEnd)) return -1;
    const valueEnd = valueEndOf(text, keyEnd + 1, depth);
    if (valueEnd < 0) return -1;
    const next = text.charCodeAt(valueEnd);
    if (next === CLOSE_OBJECT) return valueEnd + 1;
    if (next !== COMMA) return -1;
    previousKey = i;
    previousKeyEnd = keyEnd;
    i = valueEnd + 1;
  }
}

function arrayEnd(text: string, at: number, depth: number): number {
  let i = at + 1;
  if (text.charCodeAt(i) === CLOSE_ARRAY) return i + 1;
  for (;;) {
    const valueEnd = valueEndOf(text, i, depth);
    if (valueEnd < 0) return -1;
    const next = text.charCodeAt(valueEnd);
    if (next === CLOSE_ARRAY) return valueEnd + 1;
    if (next !== COMMA) return -1;
    i = valueEnd + 1;
  }
}

/**
 * End of the number at `at` if it is written as ECMAScript's Number::toString writes its value
 * (which JCS requires), or -1. Short integers are decided by their digits; any other number by
 * converting it and writing it back.
 */
function numberEnd(text: string, at: number): number {
  let i = at;
  if (text.charCodeAt(i) === MINUS) i++;
  const digits = i;
  while (isDigit(text.charCodeAt(i))) i++;
  const count = i - digits;
  if (count === 0 || (count > 1 && text.charCodeAt(digits) === ZERO)) return -1;
  const next = text.charCodeAt(i);
  if (next !== DOT && next !== 0x65 && next !== 0x45) {
    // -0 is written 0.
    if (count === 1 && text.charCodeAt(digits) === ZERO && digits > at) return -1;
    if (count <= EXACT_DIGITS) return i;
  } else {
    if (next === DOT) {
      const fraction = ++i;
      while (isDigit(text.charCodeAt(i))) i++;
      if (i === fraction) return -1;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 0x2b || sign === MINUS) i++;
      const exponent = i;
      while (isDigit(text.charCodeAt(i))) i++;
      if (i === exponent) return -1;
    }
  }
  const token = text.slice(at, i);
  return String(Number(token)) === token ? i : -1;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/**
 * Does the key quoted at `[a, aEnd)` sort strictly before the one at `[b, bEnd)`, by UTF-16 code
 * units as JCS orders keys? Both are escape-free, so their quoted text compares as their values.
 */
function sortsBefore(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  // Compare between the quotes: the closing quote must not take part (`"a"` vs `"a!"`).
  const aLength = aEnd - a - 2;
  const bLength = bEnd - b - 2;
  const length = Math.min(aLength, bLength);
  for (let i = 1; i <= length; i++) {
    const x = text.charCodeAt(a + i);
    const y = text.charCodeAt(b + i);
    if (x !== y) return x < y;
  }
  return aLength < bLength;
}

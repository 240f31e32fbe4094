import { hash as digest, randomFillSync } from 'node:crypto';
import { canonicalize, members, quoteKey, quoteString } from './canonical.js';
import type { ScannedRecord } from './canonical-scan.js';
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditRecord } from './record.js';

/**
 * Hash of the chain: SHA-256 (default) or SM3 (GB/T 32905, for GB/T 39786 deployments). An SM3
 * chain says so in its `writer_start` record (`hashAlg: 'sm3'`).
 */
export type HashAlg = 'sha256' | 'sm3';

/** Hex digest. The one-shot `crypto.hash` costs about half of createHash() on record-sized input. */
function sha256(text: string, alg: HashAlg = 'sha256'): string {
  return digest(alg, text, 'hex');
}

/** Hash that seq 0 points back to: binds the chain's name into its first record. */
export function genesisHash(chain: string, alg: HashAlg = 'sha256'): string {
  return sha256(`pipl-guard/audit/v1\n${chain}`, alg);
}

/** Hex hash (SHA-256 unless `alg` says otherwise) over the canonical form of a record without its `hash` member. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord, alg: HashAlg = 'sha256'): string {
  const { hash: _hash, ...body } = record as AuditRecord;
  return sha256(canonicalize(body), alg);
}

/**
 * Checks one stored line: is it byte-for-byte the canonical form of `record` (its parse), and does
 * `record.hash` match the hash of that form without `hash`? The verifier's full path, for the lines
 * `scanCanonical` (its fast path) cannot vouch for.
 */
export function checkLine(
  record: Record<string, unknown>,
  text: string,
  alg: HashAlg = 'sha256',
): { canonical: boolean; hashOk: boolean } {
  const parts = members(record);
  const canonical = `{${parts.join(',')}}` === text;
  // Top-level members are `"key":value`; only the `hash` member starts with `"hash":`.
  const hashed = `{${parts.filter((part) => !part.startsWith('"hash":')).join(',')}}`;
  return { canonical, hashOk: sha256(hashed, alg) === record.hash };
}

/**
 * Does the `hash` member of a line that `scanCanonical` found canonical match the hash of the line
 * without that member? The same test as {@link checkLine}'s `hashOk`, without a parse.
 */
export function scannedHashOk(text: string, scanned: ScannedRecord, alg: HashAlg = 'sha256'): boolean {
  return sha256(text.slice(0, scanned.hashFrom) + text.slice(scanned.hashTo), alg) === scanned.hash;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const NIBBLE = Array.from({ length: 256 }, (_, byte) => (byte & 0x0f).toString(16));

// Records sealed in the same millisecond share its formatted time: under load that is most of them.
// A new millisecond reuses the parts that change less often: the RFC 3339 text up to the second
// (`toISOString` formats through sprintf, about 0.45 µs) and the first 9 of the id's 12 hex time
// digits (they change every 4,096 ms); only the last digits are looked up.
let clockMs = -1;
let clockHex = '';
let clockIso = '';
let secondStart = Number.NaN;
let isoUpToSecond = ''; // `2026-12-02T13:45:07.`
let hexHighOf = -1;
let hexHigh = ''; // `019adf3c-b` : 8 digits, the dash, the 9th digit
const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));
function clock(nowMs: number): void {
  if (nowMs === clockMs) return;
  clockMs = nowMs;
  const high = Math.floor(nowMs / 4096);
  if (high !== hexHighOf) {
    hexHighOf = high;
    const digits = high.toString(16).padStart(9, '0');
    hexHigh = `${digits.slice(0, 8)}-${digits.slice(8)}`;
  }
  const low = nowMs - high * 4096;
  clockHex = `${hexHigh}${NIBBLE[low >> 8]}${HEX[low & 0xff]}-7`;
  const ms = ((nowMs % 1000) + 1000) % 1000;
  if (nowMs - ms !== secondStart) {
    secondStart = nowMs - ms;
    // Up to and including the dot: `toISOString()` always ends in `mmmZ`, whatever the year's width.
    isoUpToSecond = new Date(secondStart).toISOString().slice(0, -4);
  }
  clockIso = `${isoUpToSecond}${MILLIS[ms]}Z`;
}

// Random bits for ids come from one CSPRNG fill per 512 ids, not a randomUUID() call per id.
const ID_BYTES = 10;
const pool = Buffer.alloc(512 * ID_BYTES);
let poolAt = pool.length;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/**
 * The id's random part (`xxx-yxxx-xxxxxxxxxxxx`), written here byte by byte and read out as one
 * string: built from 11 hex pieces it was 10 concatenations, about 390 bytes of garbage per id
 * against 75 this way, at the same speed (and the guard makes three ids per request).
 */
const tail = Buffer.alloc(21);
const DASH = 0x2d;

function putHex(at: number, byte: number): void {
  tail[at] = HEX_DIGITS[byte >> 4] as number;
  tail[at + 1] = HEX_DIGITS[byte & 0x0f] as number;
}

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit millisecond time, version 7, 12 random bits, variant `10`, 62
 * random bits; the random bits come from a pooled CSPRNG buffer (`randomFillSync`).
 */
export function uuidv7(nowMs: number): string {
  clock(nowMs);
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const i = poolAt;
  poolAt += ID_BYTES;
  const p = pool;
  // rand_a: 12 bits after the version digit (which `clockHex` ends with).
  putHex(0, p[i] as number);
  tail[2] = HEX_DIGITS[(p[i + 1] as number) & 0x0f] as number;
  tail[3] = DASH;
  // The variant (`10`) in the top bits of this byte, then 62 random bits.
  putHex(4, ((p[i + 2] as number) & 0x3f) | 0x80);
  putHex(6, p[i + 3] as number);
  tail[8] = DASH;
  for (let k = 0; k < 6; k++) putHex(9 + 2 * k, p[i + 4 + k] as number);
  return clockHex + tail.toString('latin1', 0, 21);
}

/** RFC 3339 UTC time with milliseconds. */
function isoTime(nowMs: number): string {
  clock(nowMs);
  return clockIso;
}

/** The members every record gets from its chain, in the order `seal` computes them. */
const CHAINED_KEYS = ['v', 'id', 'time', 'chain', 'seq', 'prev'] as const;
const PREV = CHAINED_KEYS.indexOf('prev');

/** One member of a record shape, in canonical order. */
interface Slot {
  readonly key: string;
  /** `"key":`, quoted once per shape instead of once per record. */
  readonly prefix: string;
  /** Does the key sort before `hash` (its member goes before `hash` in the line)? */
  readonly early: boolean;
  /** Index in CHAINED_KEYS when the chain supplies the value, else -1 (the event does). */
  readonly chained: number;
  /**
   * The chain's id, time or prev: strings this module formats from hex digits, dashes, digits and
   * `T:.Z+`, which JSON holds as they are (prev only once the head has hashed a record itself).
   */
  readonly plain: boolean;
  /**
   * The last value seen here and its member text. A route's records repeat most members (type,
   * route, purpose, categories, enforcer…): those are serialised once, not once per record.
   */
  last: unknown;
  lastText: string;
}

/**
 * Key orders by event type. Events of one type come from one object literal, so their
 * `Object.keys` arrays match element for element and the sort is done once; any other shape is
 * sorted afresh.
 */
interface Shape {
  raw: string[];
  slots: Slot[];
  /**
   * The member texts of the record being sealed, one per slot, rewritten in place: sealing is
   * synchronous, so one array per shape serves every record of that shape. A fresh array grown by
   * `push` was about 0.7 KB of garbage per decision and outcome, and a builtin call per member.
   */
  parts: string[];
  /** Is a record of this shape being sealed? (A getter on an event that seals again gets its own array.) */
  busy: boolean;
}
const shapes = new Map<unknown, Shape>();
function shapeOf(source: Record<string, unknown>): Shape {
  const raw = Object.keys(source);
  const known = shapes.get(source.type);
  if (known && sameKeys(known.raw, raw)) return known;
  const all: string[] = [...raw];
  for (const key of CHAINED_KEYS) if (!(key in source)) all.push(key);
  // A stray `hash` on the event (plain JavaScript callers) never enters what is hashed.
  const sorted = all.filter((key) => key !== 'hash').sort();
  const shape: Shape = {
    raw,
    slots: sorted.map((key) => ({
      key,
      prefix: `${quoteKey(key)}:`,
      early: key < 'hash',
      chained: (CHAINED_KEYS as readonly string[]).indexOf(key),
      plain: key === 'id' || key === 'time' || key === 'prev',
      last: undefined,
      lastText: '',
    })),
    parts: sorted.map(() => ''),
    busy: false,
  };
  if (shapes.size < 64) shapes.set(source.type, shape);
  return shape;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `"key":value` of one member, reusing the slot's last text when the value repeats. */
function memberText(slot: Slot, value: unknown): string {
  // Primitives compare by value; a frozen object cannot have changed since it was serialised
  // (the same rule canonicalize() applies). Anything else is serialised afresh.
  if (value === slot.last && (typeof value !== 'object' || value === null || Object.isFrozen(value))) {
    return slot.lastText;
  }
  const text = slot.prefix + (typeof value === 'string' ? quoteString(value) : canonicalize(value));
  slot.last = value;
  slot.lastText = text;
  return text;
}

/**
 * The head of one hash chain. Sealing happens on the caller's thread in strict order; only the
 * finished line goes to I/O.
 */
export class ChainHead {
  readonly chain: string;
  readonly alg: HashAlg;
  seq: number;
  prev: string;
  /** Was `prev` hashed here (hex), not handed in by whoever recovered the chain? */
  private prevOwn: boolean;

  constructor(chain: string, nextSeq = 0, prev?: string, alg: HashAlg = 'sha256') {
    this.chain = chain;
    this.alg = alg;
    this.seq = nextSeq;
    this.prev = prev ?? genesisHash(chain, alg);
    this.prevOwn = prev === undefined;
  }

  /** Assigns seq/prev/hash and returns the record with its canonical JSON line (with newline). */
  seal(event: AuditEvent, nowMs = Date.now()): Sealed {
    // Built member by member from the event: no intermediate object, no spread (on Node 20
    // `{ ...event, more }` takes a slow path that costs more than hashing the record).
    const source = event as unknown as Record<string, unknown>;
    const chained = [AUDIT_SCHEMA_VERSION, uuidv7(nowMs), isoTime(nowMs), this.chain, this.seq, this.prev];
    const shape = shapeOf(source);
    const slots = shape.slots;
    // Members in canonical order, `hash` left out: joined, they are the hashed text. Joining an array
    // builds one flat string; concatenating member by member built a rope that hashing and writing
    // each had to walk (measured: 11 → 7.5 µs for a decision and an outcome record, encoding included).
    const shared = !shape.busy;
    let parts = shared ? shape.parts : [];
    shape.busy = true;
    let count = 0;
    let early = 0;
    let hashed: string;
    try {
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] as Slot;
        const value = slot.chained >= 0 ? chained[slot.chained] : source[slot.key];
        if (value === undefined) {
          // A member set to `undefined` is left out, as JSON leaves it out: this record gets its own array.
          if (parts === shape.parts) parts = parts.slice(0, count);
          continue;
        }
        const text =
          slot.plain && (slot.chained !== PREV || this.prevOwn)
            ? `${slot.prefix}"${value as string}"`
            : memberText(slot, value);
        if (parts === shape.parts) parts[count] = text;
        else parts.push(text);
        count++;
        if (slot.early) early++;
      }
      // The braces go into the first and last member, so the join is the whole text, flat: wrapped
      // around it (`{${…}}`) they made a rope that hashing copied flat again, about 0.6 KB per record.
      // There are always several members (the chain's own six), so first and last are two slots.
      const first = parts[0] as string;
      const last = parts[count - 1] as string;
      parts[0] = `{${first}`;
      parts[count - 1] = `${last}}`;
      hashed = parts.join(',');
      parts[0] = first;
      parts[count - 1] = last;
    } finally {
      if (shared) shape.busy = false;
    }
    const hash = sha256(hashed, this.alg);
    // The stored line puts `hash` after the members that sort before it, so the line is canonical
    // too. There is always one: `chain` comes from the head and sorts before `hash`.
    let split = 0; // position of the comma (or closing brace) after the last early member
    for (let i = 0; i < early; i++) split += (parts[i] as string).length + 1;
    const line = `${hashed.slice(0, split)},"hash":"${hash}"${hashed.slice(split)}\n`;
    this.seq += 1;
    this.prev = hash;
    this.prevOwn = true;
    return new Sealed(line, source, chained, hash);
  }
}

/** A sealed record: its canonical line, and the record as an object, built only when asked for. */
export class Sealed {
  readonly line: string;
  private readonly source: Record<string, unknown>;
  /** Values of CHAINED_KEYS, in that order. */
  private readonly chained: readonly unknown[];
  private readonly hash: string;
  private built: AuditRecord | undefined;

  constructor(line: string, source: Record<string, unknown>, chained: readonly unknown[], hash: string) {
    this.line = line;
    this.source = source;
    this.chained = chained;
    this.hash = hash;
  }

  /** RFC 3339 time of the record. */
  get time(): string {
    return this.chained[2] as string;
  }

  /** Position of the record in its chain. */
  get seq(): number {
    return this.chained[4] as number;
  }

  /** The record's `hash` (SHA-256 hex). */
  get digest(): string {
    return this.hash;
  }

  get record(): AuditRecord {
    if (this.built === undefined) {
      const record: Record<string, unknown> = Object.assign({}, this.source);
      for (let i = 0; i < CHAINED_KEYS.length; i++) record[CHAINED_KEYS[i] as string] = this.chained[i];
      record.hash = this.hash;
      this.built = record as unknown as AuditRecord;
    }
    return this.built;
  }
}

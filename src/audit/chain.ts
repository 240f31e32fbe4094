import { createHash, randomUUID } from 'node:crypto';
import { canonicalize, quoteKey } from './canonical.js';
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditRecord } from './record.js';

/** Hash that seq 0 points back to: binds the chain's name into its first record. */
export function genesisHash(chain: string): string {
  return createHash('sha256').update(`pipl-guard/audit/v1\n${chain}`).digest('hex');
}

/** SHA-256 hex over the canonical form of a record without its `hash` member. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _hash, ...body } = record as AuditRecord;
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

/** UUIDv7 (RFC 9562): 48-bit millisecond time, then random bits borrowed from a v4 UUID. */
export function uuidv7(nowMs: number): string {
  const time = nowMs.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}

/**
 * The head of one hash chain. Sealing happens on the caller's thread in strict order; only the
 * finished line goes to I/O.
 */
export class ChainHead {
  readonly chain: string;
  seq: number;
  prev: string;

  constructor(chain: string, nextSeq = 0, prev = genesisHash(chain)) {
    this.chain = chain;
    this.seq = nextSeq;
    this.prev = prev;
  }

  /** Assigns seq/prev/hash and returns the record with its canonical JSON line (with newline). */
  seal(event: AuditEvent, nowMs = Date.now()): { record: AuditRecord; line: string } {
    // Built member by member from the event: no intermediate object, no spread (on Node 20
    // `{ ...event, more }` takes a slow path that costs more than hashing the record).
    const source = event as unknown as Record<string, unknown>;
    const chained: Record<string, unknown> = {
      v: AUDIT_SCHEMA_VERSION,
      id: uuidv7(nowMs),
      time: new Date(nowMs).toISOString(),
      chain: this.chain,
      seq: this.seq,
      prev: this.prev,
    };
    const keys = Object.keys(source);
    for (const key in chained) if (!(key in source)) keys.push(key);
    keys.sort();
    const parts: string[] = [];
    let at = -1;
    for (const key of keys) {
      // A stray `hash` on the event (plain JavaScript callers) never enters what is hashed.
      if (key === 'hash') continue;
      if (at < 0 && key > 'hash') at = parts.length;
      const value = key in chained ? chained[key] : source[key];
      if (value !== undefined) parts.push(`${quoteKey(key)}:${canonicalize(value)}`);
    }
    const hash = createHash('sha256')
      .update(`{${parts.join(',')}}`)
      .digest('hex');
    // The stored line is the same members with `hash` at its sorted place, so it is canonical too.
    parts.splice(at < 0 ? parts.length : at, 0, `"hash":"${hash}"`);
    const line = `{${parts.join(',')}}\n`;
    const record = Object.assign({}, source, chained, { hash }) as unknown as AuditRecord;
    this.seq += 1;
    this.prev = hash;
    return { record, line };
  }
}

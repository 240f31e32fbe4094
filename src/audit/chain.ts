import { createHash, randomUUID } from 'node:crypto';
import { canonicalize, members } from './canonical.js';
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
    // A stray `hash` on the event (plain JavaScript callers) must not leak into what is hashed.
    const fields = 'hash' in event ? withoutHash(event) : event;
    const body = {
      ...fields,
      v: AUDIT_SCHEMA_VERSION,
      id: uuidv7(nowMs),
      time: new Date(nowMs).toISOString(),
      chain: this.chain,
      seq: this.seq,
      prev: this.prev,
    };
    // Serialise once: the hash covers the members without `hash`; the stored line is the same
    // members with `hash` inserted at its sorted place, so it is canonical too.
    const parts = members(body as unknown as Record<string, unknown>);
    const hash = createHash('sha256')
      .update(`{${parts.join(',')}}`)
      .digest('hex');
    const record = { ...body, hash } as AuditRecord;
    let at = 0;
    while (at < parts.length && (parts[at] as string) < '"hash"') at++;
    parts.splice(at, 0, `"hash":"${hash}"`);
    const line = `{${parts.join(',')}}\n`;
    this.seq += 1;
    this.prev = hash;
    return { record, line };
  }
}

function withoutHash(event: AuditEvent): AuditEvent {
  const { hash: _hash, ...rest } = event as AuditEvent & { hash?: unknown };
  return rest as AuditEvent;
}

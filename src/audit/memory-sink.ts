import { PiplGuardError } from '../errors/errors.js';
import { ChainHead } from './chain.js';
import type { AuditRecord } from './record.js';
import type { AuditSink } from './sink.js';

/** An {@link AuditSink} that keeps records in memory, chained exactly like the file sink. */
export interface MemoryAuditSink extends AuditSink {
  /** Every record so far, in chain order. */
  readonly records: readonly AuditRecord[];
  /** The canonical JSON lines, as the file sink would have written them. */
  readonly lines: readonly string[];
}

/**
 * In-memory audit sink for tests and demos.
 *
 * @example
 * ```ts
 * const audit = memoryAuditSink();
 * // ... after a request
 * expect(audit.records.at(-1)?.reason).toBe('consent_valid');
 * ```
 */
export function memoryAuditSink(options: { chain?: string } = {}): MemoryAuditSink {
  const head = new ChainHead(options.chain ?? 'pipl-guard');
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  let closed = false;
  return {
    records,
    lines,
    get healthy() {
      return !closed;
    },
    append(event) {
      if (closed) throw new PiplGuardError('audit_unavailable', 'The audit log is closed');
      const { record, line } = head.seal(event);
      records.push(record);
      lines.push(line);
      return undefined;
    },
    noteDropped() {},
    async flush() {},
    async close() {
      closed = true;
    },
  };
}

import { hostname } from 'node:os';
import { VERSION } from '../version.js';
import type { BatchWriter } from './batch-writer-types.js';
import type { AuditEvent, DroppedEvent } from './record.js';

/**
 * Where audit records go. A sink seals each event into its hash chain in call order.
 */
export interface AuditSink {
  /**
   * Seals and queues an event. With `durable`, the returned promise resolves once the record is on
   * stable storage (several concurrent records share one fsync). Throws a `PiplGuardError`
   * (`audit_unavailable`) when the log cannot take the record; the guard then fails closed.
   */
  append(event: AuditEvent, durable?: boolean): undefined | Promise<void>;
  /**
   * Counts a decision a fail-open purpose let through although the log could not take its record.
   * A `dropped` record with the count and time range is written once the log accepts records again.
   */
  noteDropped(cause: string): void;
  /** `false` once a write has failed or the sink is closed; the guard refuses requests (503). */
  readonly healthy: boolean;
  /** Records sealed but not yet written (read-only, for metrics). Optional for custom sinks. */
  readonly queueDepth?: number;
  /** Resolves when everything queued so far is written. */
  flush(): Promise<void>;
  /** Writes a `writer_stop` record, flushes, syncs and closes. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional. Undoes opening when start-up fails before any record was appended (the guard calls it
   * when `createPiplGuard` throws): the log is left as it was found, with no lock. A no-op otherwise.
   */
  discard?(): void;
}

/** Who enforces: stamped into audit records. */
export interface Enforcer {
  service: string;
  instance: string;
  version: string;
  /** Fingerprint of the subject key (`subjectKeyId()`), on records of a guard that pseudonymises. */
  subjectKeyId?: string;
}

export function defaultEnforcer(service = 'pipl-guard', instance?: string): Enforcer {
  return { service, instance: instance ?? `${hostname()}:${process.pid}`, version: VERSION };
}

/** Tallies unrecorded decisions and outcomes until a `dropped` marker can be written. */
export class DropCounter {
  count = 0;
  outcomes = 0;
  private from = '';
  private to = '';
  private cause = '';

  get pending(): boolean {
    return this.count + this.outcomes > 0;
  }

  note(cause: string): void {
    const now = new Date().toISOString();
    if (!this.pending) {
      this.from = now;
      this.cause = cause;
    }
    this.to = now;
    if (cause.startsWith('outcome')) this.outcomes++;
    else this.count++;
  }

  take(enforcer: Enforcer): DroppedEvent {
    const event: DroppedEvent = {
      type: 'dropped',
      count: this.count,
      outcomes: this.outcomes,
      from: this.from,
      to: this.to,
      cause: this.cause,
      enforcer,
    };
    this.count = 0;
    this.outcomes = 0;
    return event;
  }
}

/**
 * The {@link AuditSink} a sink built on a {@link BatchWriter} hands out: the writer's state and
 * queue, and `close` run once however often it is called.
 */
export function sinkOnWriter(writer: BatchWriter<unknown>, close: () => Promise<void>): AuditSink {
  let closing: Promise<void> | undefined;
  return {
    get healthy() {
      return writer.healthy;
    },
    get queueDepth() {
      return writer.queueDepth;
    },
    append: writer.append,
    noteDropped: writer.noteDropped,
    flush: writer.flush,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

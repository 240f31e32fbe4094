import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type ObservableResult,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { AuditSink } from '../audit/sink.js';
import {
  AUDIT_CHANNEL,
  type AuditHealthMessage,
  DECISION_CHANNEL,
  type DecisionMessage,
  TOKEN_CACHE_CHANNEL,
  type TokenCacheMessage,
} from '../diagnostics/channels.js';

export interface InstrumentPiplOptions {
  /**
   * When given, every decision is also recorded as a `pipl-guard check` span, a child of the active
   * (request) span, spanning the time the guard took.
   */
  tracer?: Tracer;
  /** When given, decisions, guard latency, audit failures and token-cache lookups become metrics. */
  meter?: Meter;
  /** Sinks whose write queue is reported by the `pipl.audit.queue.depth` gauge, by name. */
  auditSinks?: Readonly<Record<string, AuditSink>>;
  /** Set the `pipl.*` attributes on the active request span (default true). */
  spanAttributes?: boolean;
}

export interface PiplInstrumentation {
  /** Unsubscribes from the channels and stops observing the sinks. Idempotent. */
  stop(): void;
}

/** Guard latency buckets, in seconds: the guard mostly takes tens of µs; a JWKS fetch, up to seconds. */
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5,
];

/**
 * Turns pipl-guard's `node:diagnostics_channel` events into OpenTelemetry attributes, spans and
 * metrics. The core never imports OpenTelemetry; only this subpath does (`@opentelemetry/api` is an
 * optional peer). Call once at start-up, after your SDK is set up.
 *
 * Span attributes on the active request span: `pipl.purpose`, `pipl.decision`, `pipl.reason`,
 * `pipl.operation`, `pipl.categories`, `pipl.basis`, `pipl.status`, `pipl.request_id`. No subject
 * id, pseudonymised or not, goes into a trace.
 *
 * Metrics: `pipl.guard.decisions` (counter by `pipl.purpose`, `pipl.decision`, `pipl.reason`),
 * `pipl.guard.duration` (histogram, seconds, by `pipl.purpose`, `pipl.decision`),
 * `pipl.audit.queue.depth` (gauge by `pipl.audit.sink`), `pipl.audit.failures` (counter by
 * `pipl.audit.sink`, `pipl.audit.chain`, `pipl.audit.event`), `pipl.audit.records` (records
 * written), `pipl.consent.token_cache` (lookups by `pipl.cache.result`: `hit` | `miss`).
 *
 * @example
 * ```ts
 * import { metrics, trace } from '@opentelemetry/api';
 * import { instrumentPipl } from 'pipl-guard/otel';
 * const instrumentation = instrumentPipl({
 *   tracer: trace.getTracer('pipl-guard'),
 *   meter: metrics.getMeter('pipl-guard'),
 *   auditSinks: { main: auditSink },
 * });
 * process.on('SIGTERM', () => instrumentation.stop());
 * ```
 */
export function instrumentPipl(options: InstrumentPiplOptions = {}): PiplInstrumentation {
  const { tracer, meter } = options;
  const setAttributes = options.spanAttributes ?? true;
  let decisions: Counter | undefined;
  let latency: Histogram | undefined;
  let failures: Counter | undefined;
  let records: Counter | undefined;
  let tokenCache: Counter | undefined;
  let queueDepth: ObservableGauge | undefined;
  const sinks = Object.entries(options.auditSinks ?? {});

  function observeQueues(result: ObservableResult): void {
    for (const [name, sink] of sinks) {
      if (typeof sink.queueDepth === 'number') result.observe(sink.queueDepth, { 'pipl.audit.sink': name });
    }
  }

  if (meter) {
    decisions = meter.createCounter('pipl.guard.decisions', {
      description: 'Guard decisions by purpose, decision and reason code',
      unit: '{decision}',
    });
    latency = meter.createHistogram('pipl.guard.duration', {
      description: 'Time the guard took per request (verify, withdrawal lookup, decide, audit append)',
      unit: 's',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    failures = meter.createCounter('pipl.audit.failures', {
      description: 'Audit write and checkpoint failures',
      unit: '{failure}',
    });
    records = meter.createCounter('pipl.audit.records', {
      description: 'Audit records written',
      unit: '{record}',
    });
    tokenCache = meter.createCounter('pipl.consent.token_cache', {
      description: 'Verified-token cache lookups by result (hit, miss)',
      unit: '{lookup}',
    });
    if (sinks.length > 0) {
      queueDepth = meter.createObservableGauge('pipl.audit.queue.depth', {
        description: 'Audit records sealed but not yet written',
        unit: '{record}',
      });
      queueDepth.addCallback(observeQueues);
    }
  }

  function onDecision(raw: unknown): void {
    const message = raw as DecisionMessage;
    if (setAttributes) {
      const span = trace.getActiveSpan();
      if (span?.isRecording()) span.setAttributes(spanAttributesOf(message));
    }
    if (tracer) {
      const end = Date.now();
      const span = tracer.startSpan(
        'pipl-guard check',
        { startTime: end - message.durationMs, attributes: spanAttributesOf(message) },
        context.active(),
      );
      span.end(end);
    }
    if (decisions && latency) {
      const attributes: Attributes = {
        'pipl.purpose': message.purpose,
        'pipl.decision': message.decision,
        'pipl.reason': message.reason,
      };
      decisions.add(1, attributes);
      latency.record(message.durationMs / 1000, {
        'pipl.purpose': message.purpose,
        'pipl.decision': message.decision,
      });
    }
  }

  function onAudit(raw: unknown): void {
    const message = raw as AuditHealthMessage;
    if (message.event === 'batch_written') {
      records?.add(message.records ?? 0, {
        'pipl.audit.sink': message.sink,
        'pipl.audit.chain': message.chain,
      });
    } else if (message.event === 'write_failed' || message.event === 'checkpoint_failed') {
      failures?.add(1, {
        'pipl.audit.sink': message.sink,
        'pipl.audit.chain': message.chain,
        'pipl.audit.event': message.event,
      });
    }
  }

  function onTokenCache(raw: unknown): void {
    tokenCache?.add(1, { 'pipl.cache.result': (raw as TokenCacheMessage).result });
  }

  subscribe(DECISION_CHANNEL, onDecision);
  // Only subscribe where something listens: a subscriber makes the publisher build its messages.
  if (meter) {
    subscribe(AUDIT_CHANNEL, onAudit);
    subscribe(TOKEN_CACHE_CHANNEL, onTokenCache);
  }

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe(DECISION_CHANNEL, onDecision);
      if (meter) {
        unsubscribe(AUDIT_CHANNEL, onAudit);
        unsubscribe(TOKEN_CACHE_CHANNEL, onTokenCache);
      }
      queueDepth?.removeCallback(observeQueues);
    },
  };
}

function spanAttributesOf(message: DecisionMessage): Attributes {
  return {
    'pipl.purpose': message.purpose,
    'pipl.decision': message.decision,
    'pipl.reason': message.reason,
    'pipl.operation': message.operation,
    'pipl.categories': [...message.categories],
    'pipl.basis': message.basis,
    'pipl.status': message.status,
    'pipl.request_id': message.requestId,
  };
}

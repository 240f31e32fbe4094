/**
 * OpenTelemetry over real HTTP on Express and Koa, with the real SDK: spans go to an
 * InMemorySpanExporter, metrics are collected by a MetricReader, and the request span is the
 * active span through the async-hooks context manager (as the SDK's Node setup registers it).
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { generateKeyPair } from 'jose';
import Koa from 'koa';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { koaGuard } from '../../src/adapters/koa/index.js';
import { fileAuditSink } from '../../src/index.js';
import { instrumentPipl, type PiplInstrumentation } from '../../src/otel/index.js';
import { FRAMEWORKS, type Framework } from '../support/apps.js';
import { guardOptions, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

/** A pull reader: `collect()` returns whatever the instruments hold now. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let keys: Keys;
let contextManager: AsyncHooksContextManager;
const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = tracerProvider.getTracer('test');
let reader: TestReader;
let meterProvider: MeterProvider;
let instrumentation: PiplInstrumentation | undefined;

beforeAll(async () => {
  keys = await makeKeys();
  contextManager = new AsyncHooksContextManager().enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});
beforeEach(() => {
  exporter.reset();
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
});
afterEach(async () => {
  instrumentation?.stop();
  instrumentation = undefined;
  await meterProvider.shutdown();
});

/** One guarded route behind a middleware that opens the request span, as HTTP instrumentation does. */
function appFor(framework: Framework, setup: ReturnType<typeof guardOptions>, requestTracer: Tracer) {
  if (framework === 'express') {
    const app = express();
    app.use((req, res, next) =>
      requestTracer.startActiveSpan(`${req.method} request`, (span) => {
        res.on('finish', () => span.end());
        next();
      }),
    );
    const guard = expressGuard(setup.guard);
    app.get(
      '/users/:id/profile',
      guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    return app;
  }
  const app = new Koa();
  app.silent = true;
  app.use((ctx, next) =>
    requestTracer.startActiveSpan(`${ctx.method} request`, async (span) => {
      try {
        await next();
      } finally {
        span.end();
      }
    }),
  );
  const router = new Router();
  const guard = koaGuard(setup.guard);
  router.get(
    '/users/:id/profile',
    guard('account.profile', {
      operation: 'use',
      subject: (ctx) => String((ctx as { params?: { id?: string } }).params?.id),
    }),
    (ctx) => {
      ctx.body = { ok: true };
    },
  );
  app.use(router.routes());
  return app.callback();
}

function metric(collected: ResourceMetrics, name: string) {
  for (const scope of collected.scopeMetrics) {
    for (const found of scope.metrics) if (found.descriptor.name === name) return found;
  }
  return undefined;
}

function points(collected: ResourceMetrics, name: string): DataPoint<number>[] {
  return (metric(collected, name)?.dataPoints ?? []) as DataPoint<number>[];
}

describe.each(FRAMEWORKS)('OpenTelemetry on %s', (framework) => {
  it('puts pipl.* attributes on the request span and records a child span per decision', async () => {
    instrumentPipl({ tracer }).stop(); // stop is idempotent and unsubscribes: nothing below comes from it
    instrumentation = instrumentPipl({ tracer });
    const setup = guardOptions(keys);
    const app = appFor(framework, setup, tracer);
    const token = await tokenFor(keys);

    await request(app)
      .get('/users/user-1/profile')
      .set('pipl-consent', token)
      .set('x-request-id', 'req-1')
      .expect(200);
    await request(app).get('/users/user-1/profile').set('x-request-id', 'req-2').expect(403);

    const spans = exporter.getFinishedSpans();
    const requests = spans.filter((s) => s.name === 'GET request');
    const checks = spans.filter((s) => s.name === 'pipl-guard check');
    expect(requests).toHaveLength(2);
    expect(checks).toHaveLength(2);
    expect(requests[0]?.attributes).toMatchObject({
      'pipl.purpose': 'account.profile',
      'pipl.decision': 'allow',
      'pipl.reason': 'consent_valid',
      'pipl.operation': 'use',
      'pipl.categories': ['identity_basic', 'contact', 'loyalty_points'],
      'pipl.basis': 'consent',
      'pipl.status': 200,
      'pipl.request_id': expect.stringMatching(/^[0-9a-f]{8}-/),
    });
    expect(requests[1]?.attributes).toMatchObject({
      'pipl.decision': 'deny',
      'pipl.reason': 'consent_required',
      'pipl.status': 403,
      'pipl.request_id': expect.stringMatching(/^[0-9a-f]{8}-/),
    });
    for (const [index, check] of checks.entries()) {
      const parent = requests[index] as ReadableSpan;
      expect(check.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(check.spanContext().traceId).toBe(parent.spanContext().traceId);
    }
    // Nothing that identifies the subject, and never the token.
    const text = JSON.stringify(spans.map((s) => s.attributes));
    expect(text).not.toContain('user-1');
    expect(text).not.toContain(token);
  });

  it('counts decisions by purpose/decision/reason, times the guard, and counts token-cache hits and misses', async () => {
    instrumentation = instrumentPipl({ meter: meterProvider.getMeter('test') });
    const setup = guardOptions(keys);
    const app = appFor(framework, setup, tracer);
    const token = await tokenFor(keys);
    for (let i = 0; i < 3; i++)
      await request(app).get('/users/user-1/profile').set('pipl-consent', token).expect(200);
    await request(app).get('/users/user-1/profile').expect(403);

    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const decisions = points(resourceMetrics, 'pipl.guard.decisions');
    expect(decisions.map((p) => [p.attributes, p.value])).toEqual(
      expect.arrayContaining([
        [{ 'pipl.purpose': 'account.profile', 'pipl.decision': 'allow', 'pipl.reason': 'consent_valid' }, 3],
        [
          { 'pipl.purpose': 'account.profile', 'pipl.decision': 'deny', 'pipl.reason': 'consent_required' },
          1,
        ],
      ]),
    );
    expect(decisions).toHaveLength(2);
    const latency = metric(resourceMetrics, 'pipl.guard.duration');
    expect(latency?.descriptor.unit).toBe('s');
    const histograms = (latency?.dataPoints ?? []) as DataPoint<Histogram>[];
    expect(histograms.reduce((sum, p) => sum + p.value.count, 0)).toBe(4);
    expect(histograms.every((p) => (p.value.min ?? 0) > 0 && (p.value.max ?? 1) < 1)).toBe(true);
    const cache = points(resourceMetrics, 'pipl.consent.token_cache');
    expect(Object.fromEntries(cache.map((p) => [p.attributes['pipl.cache.result'], p.value]))).toEqual({
      miss: 1,
      hit: 2,
    });
    // One decision record per request reached the (memory) sink: the counter matches the log.
    expect(
      (setup.audit.records as Array<{ type: string }>).filter((r) => r.type === 'decision'),
    ).toHaveLength(4);
  });
});

describe('optional peer', () => {
  it('only pipl-guard/otel imports @opentelemetry/api', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const src = new URL('../../src/', import.meta.url);
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const importing = files.filter((f) =>
      readFileSync(new URL(f, src), 'utf8').includes("from '@opentelemetry/"),
    );
    expect(importing).toEqual([join('otel', 'instrument.ts')]);
  });
});

describe('audit metrics', () => {
  it('observes the write queue depth, counts records written and failures (file sink)', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-otel-'));
    const { privateKey } = await generateKeyPair('EdDSA');
    const sink = fileAuditSink({
      path: join(dir, 'audit.jsonl'),
      chain: 'otel',
      checkpoint: {
        key: privateKey,
        kid: 'k1',
        everyMs: 3_600_000,
        onCheckpoint: () => {
          throw new Error('SIEM unreachable');
        },
        shipping: { attempts: 1 },
      },
    });
    instrumentation = instrumentPipl({ meter: meterProvider.getMeter('test'), auditSinks: { main: sink } });
    for (let i = 0; i < 7; i++) {
      sink.append({ type: 'outcome', requestId: `r${i}`, purpose: 'p', status: 200, durationMs: 1 });
    }
    // Sealed, not yet written: the batch goes out on the next turn of the event loop.
    let collected = (await reader.collect()).resourceMetrics;
    expect(points(collected, 'pipl.audit.queue.depth').map((p) => [p.attributes, p.value])).toEqual([
      [{ 'pipl.audit.sink': 'main' }, 7],
    ]);
    await sink.flush();
    // Shipping runs off the write path: close() succeeds, the failure is counted.
    await sink.close();
    collected = (await reader.collect()).resourceMetrics;
    expect(points(collected, 'pipl.audit.queue.depth')[0]?.value).toBe(0);
    // writer_start is written at open, before the sink could publish; 7 records + writer_stop after.
    expect(points(collected, 'pipl.audit.records').reduce((sum, p) => sum + p.value, 0)).toBe(8);
    expect(points(collected, 'pipl.audit.failures').map((p) => [p.attributes, p.value])).toEqual([
      [{ 'pipl.audit.sink': 'file', 'pipl.audit.chain': 'otel', 'pipl.audit.event': 'checkpoint_failed' }, 1],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

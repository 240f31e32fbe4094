/**
 * What the observability hooks cost per request, in one process and one run:
 *
 *   base          the guard as it was before the hooks (the sources of BENCH_BASE, default the
 *                 merge-base with main, extracted with `git archive` into a temp directory)
 *   head          this tree, nobody listening, no logger: the cost every user pays
 *   head+listen   this tree, a no-op subscriber on every pipl-guard channel
 *   head+otel     this tree, instrumentPipl() with the real SDK (tracer + meter, in-memory)
 *
 * Each variant runs `pipl.check()` (the framework-free guard every adapter calls: token from the
 * verifier cache, withdrawal lookup, decide, audit append to a real file) sequentially, N times per
 * round after a warm-up; variants take turns, in a rotating order, for BENCH_ROUNDS rounds. The
 * figure is process CPU time (user + system) per check, median over rounds, so the other helpers'
 * load on this shared machine moves it less than wall time would.
 *
 *   npm run bench:observability               # BENCH_ROUNDS=21, BENCH_CHECKS=5000 (~1 min)
 */
import { execFileSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { exportJWK, generateKeyPair } from 'jose';
import * as head from '../src/index.js';
import { instrumentPipl } from '../src/otel/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const CHECKS = Number(process.env.BENCH_CHECKS ?? 5000);
const WARMUP = Math.min(2000, CHECKS);
const base =
  process.env.BENCH_BASE ??
  execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: ROOT }).toString().trim();

const work = mkdtempSync(join(tmpdir(), 'pipl-obs-bench-'));
// The base sources resolve jose and zod through this link, as the tree's own sources do.
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
mkdirSync(join(work, 'base'));
execFileSync('sh', ['-c', `git archive ${base} src | tar -x -C ${join(work, 'base')}`], { cwd: ROOT });
writeFileSync(join(work, 'base', 'package.json'), '{"type":"module"}');
const old = (await import(pathToFileURL(join(work, 'base', 'src', 'index.ts')).href)) as typeof head;

const ISSUER = 'https://consent.bench';
const AUDIENCE = 'pipl-guard-bench';
const AUDIT_KEY = 'bench-audit-key-0123456789abcdef-0123456789';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
const token = await head.issueConsentToken({
  privateKey,
  alg: 'ES256',
  kid: 'k1',
  issuer: ISSUER,
  audience: AUDIENCE,
  subject: 'user-1',
  notice: { id: 'bench-notice', version: 1 },
  grants: [
    {
      purpose: 'account.profile',
      categories: ['identity_basic', 'contact'],
      ops: ['use'],
      consentType: 'general',
    },
  ],
});

type Library = typeof head;
function guardFrom(library: Library, name: string) {
  const policy = library.definePolicy({
    notice: { id: 'bench-notice', version: 1 },
    purposes: {
      'account.profile': {
        basis: 'consent',
        categories: ['identity_basic', 'contact'],
        operations: ['use'],
        necessaryForService: true,
      },
    },
  });
  const sink = library.fileAuditSink({ path: join(work, `${name}.jsonl`), chain: name });
  const pipl = library.createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [publicJwk] } },
    revocations: library.memoryRevocationStore(),
    audit: { sink, subjectKey: AUDIT_KEY },
  });
  const requirement = pipl.requirement('account.profile', { operation: 'use' });
  const headers: Record<string, string> = { 'pipl-consent': token };
  const request = {
    method: 'GET',
    route: '/users/:id/profile',
    header: (header: string) => headers[header],
    subjectId: 'user-1',
    subjectDeclared: true,
    actor: null,
  };
  return {
    pipl,
    async run(times: number) {
      for (let i = 0; i < times; i++) {
        const outcome = await pipl.check(requirement, request);
        if (outcome.decision.reason !== 'consent_valid')
          throw new Error(`${name}: ${outcome.decision.reason}`);
        // Let the sink's batch writer run now and then, as it would between requests.
        if (i % 256 === 255) await new Promise((done) => setImmediate(done));
      }
    },
  };
}

const listeners: Array<() => void> = [];
function setListening(on: 'none' | 'noop' | 'otel') {
  for (const stop of listeners.splice(0)) stop();
  if (on === 'noop') {
    for (const name of [
      'pipl-guard:decision',
      'pipl-guard:audit',
      'pipl-guard:subject',
      'pipl-guard:token-cache',
    ]) {
      const noop = () => {};
      subscribe(name, noop);
      listeners.push(() => unsubscribe(name, noop));
    }
  }
  if (on === 'otel') {
    class Reader extends MetricReader {
      protected async onShutdown() {}
      protected async onForceFlush() {}
    }
    const meterProvider = new MeterProvider({ readers: [new Reader()] });
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
    });
    const instrumentation = instrumentPipl({
      tracer: tracerProvider.getTracer('bench'),
      meter: meterProvider.getMeter('bench'),
    });
    listeners.push(() => instrumentation.stop());
  }
}

const variants = [
  { name: 'base', guard: guardFrom(old, 'base'), listening: 'none' as const },
  { name: 'head', guard: guardFrom(head, 'head'), listening: 'none' as const },
  { name: 'head+listen', guard: guardFrom(head, 'listen'), listening: 'noop' as const },
  { name: 'head+otel', guard: guardFrom(head, 'otel'), listening: 'otel' as const },
];

const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
console.log(
  `base ${base.slice(0, 7)}; ${ROUNDS} rounds × ${CHECKS} checks per variant; Node ${process.version}`,
);
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order so no variant always runs first (after GC of the previous one, say).
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as (typeof variants)[number]);
  for (const variant of order) {
    setListening(variant.listening);
    await variant.guard.run(WARMUP);
    const before = process.cpuUsage();
    await variant.guard.run(CHECKS);
    const used = process.cpuUsage(before);
    samples.get(variant.name)?.push((used.user + used.system) / CHECKS);
  }
  setListening('none');
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number;
};
const median = (values: number[]) => quantile(values, 0.5);
const baseMedian = median(samples.get('base') ?? []);
const rows = variants.map((variant) => {
  const values = samples.get(variant.name) ?? [];
  const value = median(values);
  return {
    variant: variant.name,
    cpuUsPerCheck: Number(value.toFixed(2)),
    vsBase: Number((value / baseMedian).toFixed(3)),
    rounds: values.map((v) => Number(v.toFixed(2))),
  };
});
console.table(rows.map(({ rounds, ...row }) => ({ ...row, rounds: rounds.join(' ') })));

// Per-round paired differences against base: the noise both share in a round cancels out.
const differences: Record<string, number[]> = {};
for (const variant of variants.slice(1)) {
  const paired = (samples.get(variant.name) ?? []).map((v, i) => v - (samples.get('base')?.[i] ?? 0));
  differences[variant.name] = paired;
  console.log(
    `${variant.name} − base (µs/check): median ${median(paired).toFixed(2)}, ` +
      `interquartile ${quantile(paired, 0.25).toFixed(2)} … ${quantile(paired, 0.75).toFixed(2)}`,
  );
}

for (const variant of variants) await variant.guard.pipl.close();
const output = resolve(ROOT, process.env.BENCH_OUTPUT ?? 'bench/results/observability.json');
mkdirSync(dirname(output), { recursive: true });
writeFileSync(
  output,
  `${JSON.stringify({ base, rounds: ROUNDS, checks: CHECKS, node: process.version, rows, differences }, null, 2)}\n`,
);
rmSync(work, { recursive: true, force: true });

// Audit write throughput: the file sink (buffered and durable with group commit) against a plain
// fs.appendFile loop and pino writing the same records, in one run. Prints records/s and ratios.
// The issue-10 target (≥ 300,000 records/s buffered) is read on the records the guard itself
// writes: a decision and an outcome per request, built from a real guard's records (their route-
// and token-level parts shared and frozen, as the guard shares them). The plain-object line, each
// record built afresh with nothing shared, is the one compared with pino.
import { appendFile, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { AuditEvent, DecisionEvent, OutcomeEvent } from '../src/audit/record.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { type AuditSink, createPiplGuard, fileAuditSink } from '../src/index.js';
import { AUDIT_KEY, benchConsent, benchCredentials, policy, SUBJECT } from './shared.js';

const RECORDS = Number(process.env.AUDIT_BENCH_RECORDS ?? 200_000);
/** Concurrent writers for the durable case: requests in flight, each waiting for its fsync. */
const CONCURRENCY = Number(process.env.AUDIT_BENCH_CONCURRENCY ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'pipl-audit-bench-'));
const append = promisify(appendFile);

function event(n: number): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${n}`,
    actor: null,
    subject: 'hmac-sha256:3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    method: 'GET',
    route: '/users/:id/profile',
    purpose: 'account.profile',
    categories: ['identity_basic', 'contact'],
    operation: 'use',
    basis: 'consent',
    consent: { id: 'c-1', noticeVersion: 2, type: 'general' },
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer: { service: 'bench', instance: 'bench-1', version: '0.1.0' },
  };
}

/**
 * One decision and one outcome exactly as a guard writes them for the bench route (cache hit): a
 * real guard decides one request into a sink that keeps the events.
 */
async function guardTemplates(): Promise<{ decision: DecisionEvent; outcome: OutcomeEvent }> {
  const { jwk, token } = await benchCredentials();
  const events: AuditEvent[] = [];
  const keep: AuditSink = {
    healthy: true,
    append: (appended) => {
      events.push(appended);
      return undefined;
    },
    noteDropped() {},
    async flush() {},
    async close() {},
  };
  const guard = createPiplGuard({
    policy,
    consent: benchConsent(jwk, true),
    audit: { sink: keep, subjectKey: AUDIT_KEY, service: 'bench' },
  });
  await guard.ready();
  const outcome = await guard.check(guard.requirement('account.profile', { operation: 'use' }), {
    method: 'GET',
    route: '/users/:id/profile',
    header: (name: string) => (name === 'pipl-consent' ? token : undefined),
    subjectId: SUBJECT,
    subjectDeclared: true,
    actor: null,
  });
  guard.recordOutcome(outcome, 200, performance.now());
  await guard.close();
  const decision = events.find((e): e is DecisionEvent => e.type === 'decision');
  const closing = events.find((e): e is OutcomeEvent => e.type === 'outcome');
  if (!decision || !closing) throw new Error('the guard wrote no decision and outcome');
  return { decision, outcome: closing };
}

const templates = await guardTemplates();

/** A decision with the guard's members in the guard's order, its shared parts shared. */
function guardDecision(requestId: string): DecisionEvent {
  const d = templates.decision;
  return {
    type: 'decision',
    requestId,
    actor: d.actor,
    subject: d.subject,
    method: d.method,
    route: d.route,
    purpose: d.purpose,
    categories: d.categories,
    operation: d.operation,
    basis: d.basis,
    consent: d.consent,
    decision: d.decision,
    reason: d.reason,
    status: d.status,
    enforcer: d.enforcer,
    policy: d.policy,
  };
}

function guardOutcome(requestId: string, durationMs: number): OutcomeEvent {
  const o = templates.outcome;
  return { type: 'outcome', requestId, purpose: o.purpose, status: o.status, durationMs };
}

// The copies must be the guard's records member for member, or the bench measures something else.
for (const [copy, original] of [
  [guardDecision(templates.decision.requestId), templates.decision],
  [guardOutcome(templates.outcome.requestId, templates.outcome.durationMs), templates.outcome],
] as const) {
  if (JSON.stringify(copy) !== JSON.stringify(original)) {
    throw new Error(`the bench's copy of the guard's ${original.type} record differs from the guard's`);
  }
}

interface Result {
  name: string;
  records: number;
  seconds: number;
  perSecond: number;
  bytes: number;
}

async function measure(
  name: string,
  file: string,
  run: () => Promise<void>,
  records = RECORDS,
): Promise<Result> {
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, records, seconds, perSecond: records / seconds, bytes: statSync(file).size };
}

async function bufferedGuardRecords(): Promise<Result> {
  const file = join(dir, 'buffered-guard.jsonl');
  const sink = fileAuditSink({ path: file, maxQueueRecords: RECORDS + 10, maxQueueBytes: 1 << 30 });
  return measure("pipl-guard file sink, buffered: the guard's decision + outcome", file, async () => {
    // Yield to the event loop now and then, as a server does between requests.
    for (let n = 0; n < RECORDS; n += 2) {
      const requestId = `req-${n}`;
      sink.append(guardDecision(requestId));
      sink.append(guardOutcome(requestId, (n % 97) / 100));
      if (n % 500 === 498) await new Promise((resolve) => setImmediate(resolve));
    }
    await sink.close();
  });
}

async function buffered(): Promise<Result> {
  const file = join(dir, 'buffered.jsonl');
  const sink = fileAuditSink({ path: file, maxQueueRecords: RECORDS + 10, maxQueueBytes: 1 << 30 });
  return measure('pipl-guard file sink, buffered: plain objects', file, async () => {
    // Yield to the event loop now and then, as a server does between requests.
    for (let n = 0; n < RECORDS; n++) {
      sink.append(event(n));
      if (n % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await sink.close();
  });
}

async function durable(): Promise<Result> {
  const file = join(dir, 'durable.jsonl');
  const sink = fileAuditSink({ path: file });
  const records = Math.min(RECORDS, 50_000);
  return measure(
    `pipl-guard file sink, durable (${CONCURRENCY} concurrent, group commit)`,
    file,
    async () => {
      let next = 0;
      const worker = async () => {
        while (next < records) await sink.append(event(next++), true);
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await sink.close();
    },
    records,
  );
}

async function appendFileLoop(): Promise<Result> {
  const file = join(dir, 'appendfile.jsonl');
  const records = Math.min(RECORDS, 50_000);
  return measure(
    'fs.appendFile per record (JSON.stringify, no chain)',
    file,
    async () => {
      for (let n = 0; n < records; n++) await append(file, `${JSON.stringify(event(n))}\n`);
    },
    records,
  );
}

async function pinoLogger(): Promise<Result> {
  const file = join(dir, 'pino.jsonl');
  const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return measure('pino to file (async, minLength 4096, no chain)', file, async () => {
    for (let n = 0; n < RECORDS; n++) {
      logger.info(event(n));
      if (n % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve) => destination.flush(() => resolve()));
    destination.end();
  });
}

const results = [
  await bufferedGuardRecords(),
  await buffered(),
  await durable(),
  await appendFileLoop(),
  await pinoLogger(),
];
const pinoRate = results[4]?.perSecond ?? 1;
console.log(`\nAudit write throughput (${RECORDS} records; durable and appendFile capped at 50000)\n`);
console.log(
  `${'writer'.padEnd(66)} ${'records/s'.padStart(10)} ${'vs pino'.padStart(8)} ${'bytes/rec'.padStart(10)}`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(66)} ${Math.round(r.perSecond).toString().padStart(10)} ${(r.perSecond / pinoRate).toFixed(2).padStart(8)} ${Math.round(
      r.bytes / r.records,
    )
      .toString()
      .padStart(10)}`,
  );
}
const checks = [
  await verifyAuditLog(join(dir, 'buffered-guard.jsonl')),
  await verifyAuditLog(join(dir, 'buffered.jsonl')),
];
const check = { valid: checks.every((c) => c.valid) };
console.log(
  `\nverifyAuditLog: guard's records valid=${checks[0]?.valid} (${checks[0]?.records} records), plain valid=${checks[1]?.valid} (${checks[1]?.records})`,
);
const bufferedRate = results[0]?.perSecond ?? 0;
console.log(
  `buffered target ≥ 300,000 records/s (issue 10), the guard's records: ${Math.round(bufferedRate).toLocaleString('en')} → ${bufferedRate >= 300_000 ? 'met' : 'NOT met'}`,
);
console.log(
  `RESULT ${JSON.stringify({ records: RECORDS, valid: check.valid, target: { bufferedPerSec: 300_000, met: bufferedRate >= 300_000 }, writers: results })}`,
);
rmSync(dir, { recursive: true, force: true });
if (!check.valid) process.exitCode = 1;

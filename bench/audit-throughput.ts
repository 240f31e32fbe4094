// Audit write throughput: the file sink (buffered and durable with group commit) against a plain
// fs.appendFile loop and pino writing the same records, in one run. Prints records/s and ratios.
import { appendFile, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { DecisionEvent } from '../src/audit/record.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { fileAuditSink } from '../src/index.js';

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

async function buffered(): Promise<Result> {
  const file = join(dir, 'buffered.jsonl');
  const sink = fileAuditSink({ path: file, maxQueueRecords: RECORDS + 10, maxQueueBytes: 1 << 30 });
  return measure('pipl-guard file sink, buffered', file, async () => {
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

const results = [await buffered(), await durable(), await appendFileLoop(), await pinoLogger()];
const pinoRate = results[3]?.perSecond ?? 1;
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
const check = await verifyAuditLog(join(dir, 'buffered.jsonl'));
console.log(`\nverifyAuditLog(buffered): valid=${check.valid}, records=${check.records}`);
const bufferedRate = results[0]?.perSecond ?? 0;
console.log(
  `buffered target ≥ 300,000 records/s (issue 10): ${Math.round(bufferedRate).toLocaleString('en')} → ${bufferedRate >= 300_000 ? 'met' : 'NOT met'}`,
);
console.log(
  `RESULT ${JSON.stringify({ records: RECORDS, valid: check.valid, target: { bufferedPerSec: 300_000, met: bufferedRate >= 300_000 }, writers: results })}`,
);
rmSync(dir, { recursive: true, force: true });
if (!check.valid) process.exitCode = 1;

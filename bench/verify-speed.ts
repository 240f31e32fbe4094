// Verify speed: records/s of verifyAuditTrail (what `pipl-guard audit verify` runs) on a
// 1,000,000-record log, and the verifier's peak memory, each run in a fresh child process (JIT
// warm-up included). The VM's speed drifts between runs, so it verifies VERIFY_BENCH_RUNS times
// (default 3), prints every run and judges the median.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainHead } from '../src/audit/chain.js';
import type { DecisionEvent } from '../src/audit/record.js';

const RECORDS = Number(process.env.VERIFY_BENCH_RECORDS ?? 1_000_000);
const RUNS = Number(process.env.VERIFY_BENCH_RUNS ?? 3);

if (process.argv[2] === '--child') {
  // The measured side: only the verifier runs in this process.
  const { verifyAuditTrail } = await import('../src/audit/verify-trail.js');
  const started = process.hrtime.bigint();
  const report = await verifyAuditTrail(process.argv[3] as string);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ valid: report.valid, records: report.records.total, seconds, maxRssMiB }));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'pipl-verify-bench-'));
  const file = join(dir, 'audit.jsonl');
  const head = new ChainHead('bench');
  const out = createWriteStream(file);
  const enforcer = Object.freeze({ service: 'bench', instance: 'bench-1', version: '0.1.0' });
  const categories = Object.freeze(['identity_basic', 'contact']);
  const started = Date.parse('2026-11-01T00:00:00Z');
  for (let n = 0; n < RECORDS; n++) {
    const event: DecisionEvent = {
      type: 'decision',
      requestId: `req-${n}`,
      actor: null,
      subject: `hmac-sha256:subject-${n % 5000}`,
      method: 'GET',
      route: '/users/:id/profile',
      purpose: 'account.profile',
      categories,
      operation: 'use',
      basis: 'consent',
      consent: { id: `c-${n % 5000}`, noticeVersion: 2, type: 'general' },
      decision: n % 10 === 0 ? 'deny' : 'allow',
      reason: n % 10 === 0 ? 'purpose_not_granted' : 'consent_valid',
      status: n % 10 === 0 ? 403 : 200,
      enforcer,
    };
    if (!out.write(head.seal(event, started + n).line))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => {
    out.end(() => resolve());
  });
  const sizeMiB = statSync(file).size / 1024 / 1024;
  interface Run {
    valid: boolean;
    records: number;
    seconds: number;
    maxRssMiB: number;
  }
  const runs: Run[] = [];
  console.log(`\nverifyAuditTrail on ${RECORDS.toLocaleString('en')} records (${sizeMiB.toFixed(0)} MiB):`);
  for (let n = 0; n < RUNS; n++) {
    const run: Run = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', 'bench/verify-speed.ts', '--child', file], {
        encoding: 'utf8',
      }),
    );
    runs.push(run);
    console.log(
      `  run ${n + 1}: valid=${run.valid}  ${run.seconds.toFixed(1)} s  ${Math.round(run.records / run.seconds).toLocaleString('en')} records/s  peak RSS ${run.maxRssMiB.toFixed(0)} MiB`,
    );
  }
  const rates = runs.map((run) => run.records / run.seconds).sort((a, b) => a - b);
  // The lower median when the count is even: never the better of two.
  const perSec = rates[Math.floor((rates.length - 1) / 2)] as number;
  const maxRssMiB = Math.max(...runs.map((run) => run.maxRssMiB));
  const valid = runs.every((run) => run.valid && run.records === RECORDS);
  console.log(
    `  median ${Math.round(perSec).toLocaleString('en')} records/s; peak RSS of the verifying process: ${maxRssMiB.toFixed(0)} MiB`,
  );
  console.log(`  target ≥ 250,000 records/s (issue 10): ${perSec >= 250_000 ? 'met' : 'NOT met'}`);
  console.log(
    `RESULT ${JSON.stringify({ valid, records: RECORDS, sizeMiB, recordsPerSec: perSec, maxRssMiB, runs, target: { recordsPerSec: 250_000, met: perSec >= 250_000 } })}`,
  );
  rmSync(dir, { recursive: true, force: true });
  if (!valid) process.exitCode = 1;
}

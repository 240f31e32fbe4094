// Verify speed: records/s of verifyAuditTrail (what `pipl-guard audit verify` runs) on a
// 1,000,000-record log, and the verifier's peak memory, measured in a child process of its own.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainHead } from '../src/audit/chain.js';
import type { DecisionEvent } from '../src/audit/record.js';

const RECORDS = Number(process.env.VERIFY_BENCH_RECORDS ?? 1_000_000);

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
  const result = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/verify-speed.ts', '--child', file], {
      encoding: 'utf8',
    }),
  );
  console.log(
    `\nverifyAuditTrail on ${result.records.toLocaleString('en')} records (${sizeMiB.toFixed(0)} MiB):`,
  );
  console.log(
    `  valid=${result.valid}  ${result.seconds.toFixed(1)} s  ${Math.round(result.records / result.seconds).toLocaleString('en')} records/s`,
  );
  console.log(`  peak RSS of the verifying process: ${result.maxRssMiB.toFixed(0)} MiB`);
  const perSec = result.records / result.seconds;
  console.log(`  target ≥ 250,000 records/s (issue 10): ${perSec >= 250_000 ? 'met' : 'NOT met'}`);
  console.log(
    `RESULT ${JSON.stringify({ ...result, sizeMiB, recordsPerSec: perSec, target: { recordsPerSec: 250_000, met: perSec >= 250_000 } })}`,
  );
  rmSync(dir, { recursive: true, force: true });
  if (!result.valid || result.records !== RECORDS) process.exitCode = 1;
}

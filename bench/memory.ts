/**
 * Memory under many distinct tokens: 1,000,000 distinct valid consent tokens (distinct subjects and
 * consent ids) go through the guard's check one after another, as over a long-running server's
 * life, with a real file audit sink. Heap and RSS are sampled along the way; the peak is printed
 * and the run fails when memory keeps growing (second-half peak far above the first-half peak).
 *
 *   npm run bench:memory                      # 1,000,000 tokens (several minutes: each is a full ES256 check)
 *   MEMORY_BENCH_TOKENS=100000 npm run bench:memory
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK } from 'jose';
import { createPiplGuard, fileAuditSink, issueConsentToken } from '../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, NOTICE, PROFILE_GRANT, policy } from './shared.js';

const TOKENS = Number(process.env.MEMORY_BENCH_TOKENS ?? 1_000_000);
const SAMPLES = 20;
const dir = mkdtempSync(join(tmpdir(), 'pipl-memory-bench-'));

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...(await exportJWK(publicKey)), kid: 'mem-1', alg: 'ES256', use: 'sig' };
const template = await issueConsentToken({
  privateKey,
  alg: 'ES256',
  kid: 'mem-1',
  issuer: ISSUER,
  audience: AUDIENCE,
  subject: 'template',
  consentId: 'template',
  notice: NOTICE,
  expiresInSec: 3600,
  grants: [PROFILE_GRANT],
});
const [headerPart, payloadPart] = template.split('.') as [string, string];
const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Token n: the template's claims with its own subject and consent id, signed with node:crypto (fast, sync). */
function token(n: number): string {
  claims.sub = `subject-${n}`;
  claims.jti = `consent-${n}`;
  const input = `${headerPart}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const pipl = createPiplGuard({
  policy,
  consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [jwk] } },
  audit: { sink: fileAuditSink({ path: join(dir, 'audit.jsonl') }), subjectKey: AUDIT_KEY },
});
await pipl.ready();
const requirement = pipl.requirement('account.profile', { operation: 'use' });

interface Sample {
  tokens: number;
  heapMiB: number;
  rssMiB: number;
}
const samples: Sample[] = [];
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
let allowed = 0;
const started = process.hrtime.bigint();
for (let n = 0; n < TOKENS; n++) {
  const value = token(n);
  const outcome = await pipl.check(requirement, {
    method: 'GET',
    route: '/users/:id/profile',
    header: (name) => (name === 'pipl-consent' ? value : undefined),
    subjectId: undefined,
    subjectDeclared: false,
    actor: null,
  });
  if (outcome.decision.effect === 'allow') allowed++;
  pipl.recordOutcome(outcome, 200, performance.now());
  if ((n + 1) % Math.max(1, Math.floor(TOKENS / SAMPLES)) === 0) {
    const usage = process.memoryUsage();
    samples.push({ tokens: n + 1, heapMiB: mib(usage.heapUsed), rssMiB: mib(usage.rss) });
    const last = samples.at(-1) as Sample;
    console.log(
      `  ${String(last.tokens).padStart(9)} tokens: heap ${last.heapMiB} MiB, RSS ${last.rssMiB} MiB`,
    );
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await pipl.close();
rmSync(dir, { recursive: true, force: true });

const half = Math.floor(samples.length / 2);
const peak = (list: Sample[], key: 'heapMiB' | 'rssMiB') => Math.max(0, ...list.map((s) => s[key]));
const result = {
  tokens: TOKENS,
  allowed,
  seconds,
  peakHeapMiB: peak(samples, 'heapMiB'),
  peakRssMiB: peak(samples, 'rssMiB'),
  firstHalfPeakHeapMiB: peak(samples.slice(0, half), 'heapMiB'),
  secondHalfPeakHeapMiB: peak(samples.slice(half), 'heapMiB'),
  samples,
};
// Bounded: what the second half of the run peaks at stays within 1.5× (+16 MiB of GC slack) of the first half.
const bounded = result.secondHalfPeakHeapMiB <= result.firstHalfPeakHeapMiB * 1.5 + 16;
console.log(
  `\n${TOKENS.toLocaleString('en')} distinct tokens (${allowed.toLocaleString('en')} allowed) in ${seconds.toFixed(0)} s: ` +
    `peak heap ${result.peakHeapMiB} MiB, peak RSS ${result.peakRssMiB} MiB; ` +
    `heap peak first half ${result.firstHalfPeakHeapMiB} MiB, second half ${result.secondHalfPeakHeapMiB} MiB → ${bounded ? 'bounded' : 'GROWING'}`,
);
console.log(`RESULT ${JSON.stringify({ ...result, bounded })}`);
if (!bounded || allowed !== TOKENS) process.exitCode = 1;

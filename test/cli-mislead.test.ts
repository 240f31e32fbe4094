import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainHead } from '../src/audit/chain.js';
import { fileAuditSink } from '../src/audit/file-sink.js';
import { createPseudonymizer } from '../src/audit/pseudonymize.js';
import type { DecisionEvent } from '../src/audit/record.js';
import { subjectKeyId } from '../src/audit/subject-key-id.js';
import { displayWidth } from '../src/cli/output.js';
import { runCli } from './support/processes.js';

// Issue 11 item 1: the answers a compliance officer got that could be wrong in front of a
// regulator, each run as they run it (a CLI process).

const KEY = 'mislead-test-audit-key-0123456789abcdef0';
const WRONG_KEY = 'another-audit-key-0123456789abcdef012345';
const pseudonymize = createPseudonymizer(KEY);
const cli = runCli;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');

function decision(instance: string, n: number): DecisionEvent {
  const health = n % 2 === 1;
  const denied = n % 3 === 0;
  return {
    type: 'decision',
    requestId: `${instance}-${n}`,
    actor: { id: health ? '医生-王' : 'clerk-7' },
    subject: pseudonymize(n % 4 === 0 ? 'u42' : `u${n}`),
    method: 'GET',
    route: health ? '/患者/:id/病历' : '/orders/:id',
    purpose: health ? 'health.records' : 'order.fulfilment',
    categories: health ? ['medical_health'] : ['contact', 'loyalty_points'],
    operation: n === 5 ? 'provide' : 'use',
    basis: health ? 'consent' : 'contract',
    consent: health ? { id: `c-${n}`, noticeVersion: 1 } : null,
    decision: denied ? 'deny' : 'allow',
    reason: denied ? 'consent_required' : health ? 'consent_valid' : 'lawful_basis',
    status: denied ? 403 : 200,
    enforcer: { service: 'api', instance, version: '0.0.0', subjectKeyId: subjectKeyId(KEY) },
  };
}

let dir: string;
let instances: string;
let signed: string;
let jwks: string;
let wrongJwks: string;
let foreignCheckpoint: string;
let policyModule: string;
const expected = { healthDenied: 0, total: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-mislead-'));
  // Two instances whose records interleave in time; both chains have seq 0, 1, 2, …
  instances = join(dir, 'instances');
  mkdirSync(instances);
  for (const [offset, instance] of [
    [0, 'api-1'],
    [500, 'api-2'],
  ] as const) {
    const head = new ChainHead(`${instance}-chain`);
    const lines: string[] = [];
    for (let n = 1; n <= 12; n++) {
      const event = decision(instance, n);
      if (event.purpose === 'health.records' && event.decision === 'deny') expected.healthDenied++;
      expected.total++;
      lines.push(head.seal(event, T0 + n * 1000 + offset).line);
    }
    writeFileSync(join(instances, `${instance}.jsonl`), lines.join(''));
  }

  // A signed log and another chain signed with the same key.
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  jwks = join(dir, 'jwks.json');
  writeFileSync(
    jwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'cp-1', alg: 'EdDSA' }] }),
  );
  const other = await generateKeyPair('EdDSA', { extractable: true });
  wrongJwks = join(dir, 'wrong-jwks.json');
  writeFileSync(
    wrongJwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(other.publicKey)), kid: 'cp-2', alg: 'EdDSA' }] }),
  );
  const signedDir = join(dir, 'signed');
  for (const chain of ['signed', 'other']) {
    const sink = fileAuditSink({
      path: join(signedDir, `${chain}.jsonl`),
      chain,
      checkpoint: { key: privateKey, kid: 'cp-1', everyRecords: 5 },
    });
    for (let n = 1; n <= 12; n++) sink.append(decision(chain, n));
    await sink.close();
  }
  signed = join(signedDir, 'signed.jsonl');
  foreignCheckpoint = join(dir, 'other.jws');
  const otherCheckpoints = readFileSync(join(signedDir, 'other.jsonl.checkpoints'), 'utf8')
    .trim()
    .split('\n');
  writeFileSync(foreignCheckpoint, otherCheckpoints.at(-1) as string);

  policyModule = join(dir, 'policy.mjs');
  writeFileSync(
    policyModule,
    `import { definePolicy } from ${JSON.stringify(resolve('src/index.ts'))};
export default definePolicy({
  notice: { id: 'n', version: 1 },
  purposes: {
    'order.fulfilment': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
    'health.records': { basis: 'consent', categories: ['medical_health'], operations: ['use', 'provide'], necessaryForService: false, piaRef: 'PIA-1' },
    'billing.invoice': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
  },
});
`,
  );
}, 60_000);

describe('every filter is honoured or refused', { timeout: 180_000 }, () => {
  it('stats counts only what --purpose and --decision select; verify refuses filters', async () => {
    const [filtered, all, verify] = await Promise.all([
      cli(['audit', 'stats', instances, '--purpose', 'health.records', '--decision', 'deny', '--json']),
      cli(['audit', 'stats', instances, '--json']),
      cli(['audit', 'verify', instances, '--purpose', 'health.records']),
    ]);
    expect(filtered.code).toBe(0);
    const stats = JSON.parse(filtered.stdout);
    expect(stats.decisions).toBe(expected.healthDenied);
    expect(stats.byDecision).toEqual({ deny: expected.healthDenied });
    expect(stats.byPurpose).toEqual({ 'health.records': expected.healthDenied });
    expect(JSON.parse(all.stdout).decisions).toBe(expected.total);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toMatch(/takes no filter \(--purpose\)/);
  });

  it('stats prints the filters it applied and times in --tz; a misspelt option is a usage error', async () => {
    const [text, verify, misspelt] = await Promise.all([
      cli([
        'audit',
        'stats',
        instances,
        '--purpose',
        'health.records',
        '--decision',
        'deny',
        '--tz',
        'Asia/Shanghai',
      ]),
      cli(['audit', 'verify', join(instances, 'api-1.jsonl'), '--tz', 'Asia/Shanghai']),
      cli(['audit', 'query', instances, '--purpse', 'health.records']),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\d+ decisions in \d+ records \(2026-11-01 08:00:\d\d\.\d{3} \+08:00 to /);
    expect(text.stdout).toMatch(/^Filters: purpose=health\.records decision=deny$/m);
    expect(verify.stdout).toMatch(/\(2026-11-01 08:00:01\.000 \+08:00 to 2026-11-01 08:00:12\.000 \+08:00\)/);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toMatch(/Unknown option '--purpse'/);
  });
});

describe('a filter value no record could match is a usage error listing the known values', {
  timeout: 180_000,
}, () => {
  it('for purposes (from the log, or from --policy), categories and reasons', async () => {
    const [purpose, statsPurpose, category, reason, inPolicy, notInPolicy, custom] = await Promise.all([
      cli(['audit', 'query', instances, '--purpose', 'health.record']),
      cli(['audit', 'stats', instances, '--purpose', 'health.record']),
      cli(['audit', 'query', instances, '--category', 'medical']),
      cli(['audit', 'query', instances, '--reason', 'consent_requird']),
      cli([
        'audit',
        'query',
        instances,
        '--purpose',
        'billing.invoice',
        '--policy',
        policyModule,
        '--format',
        'jsonl',
      ]),
      cli(['audit', 'query', instances, '--purpose', 'health.record', '--policy', policyModule]),
      // Not built in, but in the log: a category of the application's policy.
      cli(['audit', 'query', instances, '--category', 'loyalty_points', '--format', 'jsonl']),
    ]);
    for (const run of [purpose, statsPurpose]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /--purpose health\.record: no record in this log has it; purposes in the log: health\.records, order\.fulfilment/,
      );
      expect(run.stdout).toBe('');
    }
    expect(custom.code).toBe(0);
    expect(custom.stdout.trim().split('\n')).toHaveLength(expected.total / 2);
    expect(category.code).toBe(2);
    expect(category.stderr).toMatch(/--category medical is not a known category; built in: .*medical_health/);
    expect(reason.code).toBe(2);
    expect(reason.stderr).toMatch(/--reason consent_requird is not a reason code; known: .*consent_required/);
    // A purpose the policy declares but no record has: a true "nothing".
    expect(inPolicy.code).toBe(0);
    expect(inPolicy.stdout).toBe('');
    expect(notInPolicy.code).toBe(2);
    expect(notInPolicy.stderr).toMatch(
      /not in the policy; its purposes: order\.fulfilment, health\.records, billing\.invoice/,
    );
  });
});

describe('the audit key', { timeout: 180_000 }, () => {
  it('a wrong PIPL_AUDIT_KEY is reported as such, not as 0 records', async () => {
    const [wrong, right] = await Promise.all([
      cli(['audit', 'query', instances, '--subject', 'u42'], { PIPL_AUDIT_KEY: WRONG_KEY }),
      cli(['audit', 'query', instances, '--subject', 'u42', '--format', 'jsonl'], { PIPL_AUDIT_KEY: KEY }),
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `the audit key (fingerprint ${subjectKeyId(WRONG_KEY)}) is not the key this log's subjects were pseudonymised with (${subjectKeyId(KEY)})`,
    );
    expect(right.code).toBe(0);
    expect(right.stdout.trim().split('\n')).toHaveLength(6);
  });
});

describe('exit codes: key and usage errors 2, only a bad log 1', { timeout: 180_000 }, () => {
  it('a wrong JWKS and --trusted-checkpoint without --keys exit 2', async () => {
    const [wrongKeys, noKeys, rightKeys] = await Promise.all([
      cli(['audit', 'verify', signed, '--keys', wrongJwks]),
      cli(['audit', 'verify', signed, '--trusted-checkpoint', foreignCheckpoint]),
      cli(['audit', 'verify', signed, '--keys', jwks]),
    ]);
    expect(wrongKeys.code).toBe(2);
    expect(wrongKeys.stderr).toMatch(
      /--keys holds none of the keys the checkpoints of chain "signed" are signed with \(kid cp-1; --keys has cp-2\)/,
    );
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/--trusted-checkpoint needs --keys/);
    expect(rightKeys.code).toBe(0);
  });

  it('without keys, checkpoints are "not checked (no keys)", never "0/N valid"', async () => {
    const result = await cli(['audit', 'verify', signed]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ {2}\d+ checkpoints: not checked \(no keys; pass --keys jwks\.json\)/);
    expect(result.stdout).not.toMatch(/\d+\/\d+ checkpoints valid/);
  });

  it('a trusted checkpoint of another chain is a usage error; in a directory it pins its own chain', async () => {
    const [foreign, matched] = await Promise.all([
      cli(['audit', 'verify', signed, '--keys', jwks, '--trusted-checkpoint', foreignCheckpoint]),
      cli([
        'audit',
        'verify',
        join(dir, 'signed'),
        '--keys',
        jwks,
        '--trusted-checkpoint',
        foreignCheckpoint,
        '--json',
      ]),
    ]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(
      /the trusted checkpoint is for chain "other", which is not here; chains: signed/,
    );
    expect(foreign.stdout).not.toMatch(/rewritten/);
    expect(matched.code).toBe(0);
    const reports = JSON.parse(matched.stdout) as { chain: string; valid: boolean }[];
    expect(reports.map((r) => [r.chain, r.valid])).toEqual([
      ['other', true],
      ['signed', true],
    ]);
  });
});

describe('a directory of instances', { timeout: 180_000 }, () => {
  it('is merged by time, not concatenated', async () => {
    const result = await cli(['audit', 'export', instances]);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { time: string; chain: string });
    expect(records).toHaveLength(expected.total);
    const times = records.map((r) => r.time);
    expect(times).toEqual([...times].sort());
    expect(records.slice(0, 4).map((r) => r.chain)).toEqual([
      'api-1-chain',
      'api-2-chain',
      'api-1-chain',
      'api-2-chain',
    ]);
  });

  it('is shown as an aligned table with chain, instance and actor columns, CJK included, in --tz', async () => {
    const [utc, shanghai, badZone] = await Promise.all([
      cli(['audit', 'query', instances]),
      cli(['audit', 'query', instances, '--tz', 'Asia/Shanghai']),
      cli(['audit', 'query', instances, '--tz', 'Mars/Olympus']),
    ]);
    const [header, ...rows] = utc.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^time +chain +instance +seq +decision +reason +status +purpose +route +actor +subject$/,
    );
    expect(rows).toHaveLength(expected.total);
    // Each left-aligned column starts at the same terminal column in every row, whatever the
    // characters before it (CJK takes two columns).
    const titles = (header as string).split(/ {2,}/);
    for (const row of rows) {
      const startsOfRow = starts(row);
      expect(startsOfRow).toHaveLength(titles.length);
      for (const title of ['chain', 'instance', 'decision', 'purpose', 'route', 'actor', 'subject']) {
        const i = titles.indexOf(title);
        expect(startsOfRow[i]).toBe(starts(header as string)[i]);
      }
    }
    expect(rows[0]).toMatch(
      /^2026-11-01T00:00:01\.000Z +api-1-chain +api-1 +0 +allow +consent_valid +200 +health\.records +\/患者\/:id\/病历 +医生-王 +hmac-sha256:/,
    );
    expect(shanghai.stdout.split('\n')[1]).toMatch(/^2026-11-01 08:00:01\.000 \+08:00 +api-1-chain/);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toMatch(/--tz Mars\/Olympus is not an IANA time zone/);
  });
});

/** Terminal column where each cell of a table line starts (cells are separated by 2+ spaces). */
function starts(line: string): number[] {
  const out: number[] = [];
  let at = 0;
  for (const cell of line.split(/ {2,}/)) {
    const i = line.indexOf(cell, at);
    out.push(displayWidth(line.slice(0, i)));
    at = i + cell.length;
  }
  return out;
}

describe('per-command --help', { timeout: 180_000 }, () => {
  it('exits 0 with that command usage', async () => {
    const runs = await Promise.all([
      cli(['audit', '--help']),
      cli(['audit', 'verify', '--help']),
      cli(['audit', 'stats', '-h']),
      cli(['keys', 'generate', '--help']),
      cli(['token', 'issue', '--help']),
    ]);
    for (const run of runs) expect(run.code).toBe(0);
    const [audit, verify, stats, keys, token] = runs;
    expect(audit?.stdout).toMatch(/pipl-guard audit verify/);
    expect(audit?.stdout).toMatch(/pipl-guard audit stats/);
    expect(verify?.stdout).toMatch(/^Usage: pipl-guard audit verify/);
    expect(stats?.stdout).toMatch(/^Usage: pipl-guard audit stats[\s\S]*--purpose/);
    expect(keys?.stdout).toMatch(/^Usage: pipl-guard keys generate/);
    expect(token?.stdout).toMatch(/^Usage: pipl-guard token issue/);
  });
});

describe('OCSF export', { timeout: 180_000 }, () => {
  it('maps `provide` to API Activity Read, not Other', async () => {
    const result = await cli(['audit', 'export', join(instances, 'api-1.jsonl'), '--format', 'ocsf']);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const provided = events.find((event) => event.api.operation === 'provide');
    expect(provided).toMatchObject({
      class_uid: 6003,
      activity_id: 2,
      activity_name: 'Read',
      type_uid: 600302,
    });
  });
});

import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainHead } from '../src/audit/chain.js';
import type { DecisionEvent } from '../src/audit/record.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { runCliMeasured } from './support/cli-child.js';
import { runCli } from './support/processes.js';

// Issue 6 items 8 and 15: the CLI against logs an attacker wrote. Each run is a real CLI process.

const enforcer = { service: 'crafted', instance: 'i-1', version: '0.0.0' };

function decision(n: number, over: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${n}`,
    actor: { id: 'clerk-7' },
    subject: 'hmac-sha256:abc',
    method: 'GET',
    route: '/users/:id',
    purpose: 'account.profile',
    categories: ['contact'],
    operation: 'use',
    basis: 'consent',
    consent: null,
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
    ...over,
  };
}

/** Sealed lines of one chain, as a sink writes them. */
function chainLines(events: DecisionEvent[], chain = 'crafted'): string[] {
  const head = new ChainHead(chain);
  return events.map((event, i) => head.seal(event, 1_767_225_600_000 + i * 1000).line);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-crafted-'));
});
// The 64 MB line takes real disk space.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ESC = '\u001b';
const RLO = '\u202e';
const CSI_C1 = '\u009b';
/** Nothing a terminal would obey: no C0 but LF, no DEL or C1, no bidi controls. */
function expectInert(text: string): void {
  expect(text).not.toMatch(INERT);
}
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
const INERT = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

describe('invalid UTF-8 is a bad record (issue 6 item 8)', { timeout: 180_000 }, () => {
  it('a byte edit that decodes to U+FFFD no longer verifies', async () => {
    // The writer stored a real U+FFFD (EF BF BD); the edit puts one invalid byte (FF) there, which a
    // lenient decoder turns back into U+FFFD: same text, same hash.
    const lines = chainLines([decision(0), decision(1, { route: '/files/\ufffd' }), decision(2)]);
    const path = join(dir, 'utf8.jsonl');
    const bytes = Buffer.from(lines.join(''));
    const at = bytes.indexOf(Buffer.from('\ufffd'));
    const edited = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]);
    writeFileSync(path, edited);

    const library = await verifyAuditLog(path);
    expect(library.valid).toBe(false);
    expect(library.problem).toMatchObject({ kind: 'malformed', line: 2 });

    const [verify, query] = await Promise.all([
      runCli(['audit', 'verify', path]),
      runCli(['audit', 'query', path, '--format', 'jsonl']),
    ]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/utf8\.jsonl:2 INVALID: bytes are not valid UTF-8/);
    expect(query.code).toBe(1);
    expect(query.stdout.trim().split('\n')).toHaveLength(2);
    expect(query.stderr).toMatch(/utf8\.jsonl:2 INVALID: bytes are not valid UTF-8/);
  });
});

describe('control and bidi characters from a log are shown, never obeyed (issue 6 item 15)', {
  timeout: 180_000,
}, () => {
  it('escapes them in verify problems, query tables, CSV, JSON lines and stats', async () => {
    const hostile = `${ESC}[2K${ESC}[1A\rVALID${RLO}${CSI_C1}\u2066\u200b`;
    const lines = chainLines([
      decision(0, { route: `/x/${hostile}`, purpose: `p${RLO}`, actor: { id: `a${ESC}]0;t\u0007` } }),
      decision(1),
    ]);
    // A record of another chain whose name would rewrite the problem line on a terminal.
    const foreign = chainLines([decision(2)], `evil${hostile}`)[0] as string;
    const path = join(dir, 'hostile.jsonl');
    writeFileSync(path, lines.join('') + foreign);

    const runs = await Promise.all([
      runCli(['audit', 'verify', path]),
      runCli(['audit', 'query', path]),
      runCli(['audit', 'query', path, '--format', 'csv']),
      runCli(['audit', 'query', path, '--format', 'jsonl']),
      runCli(['audit', 'stats', path]),
      runCli(['audit', 'stats', path, '--json']),
    ]);
    const [verify, table, csv, jsonl, stats, statsJson] = runs;
    for (const run of runs) {
      expectInert(run.stdout);
      expectInert(run.stderr);
    }
    expect(verify?.code).toBe(1);
    expect(verify?.stdout).toContain(
      'belongs to chain "evil\\u{1b}[2K\\u{1b}[1A\\u{d}VALID\\u{202e}\\u{9b}\\u{2066}\\u{200b}"',
    );
    expect(table?.stdout).toContain('/x/\\u{1b}[2K');
    expect(csv?.stdout).toContain('/x/\\u{1b}[2K');
    expect(stats?.stdout).toContain('p\\u{202e}');
    // JSON stays JSON: the same strings, with the dangerous characters as \u escapes.
    const first = JSON.parse(jsonl?.stdout.split('\n')[0] as string);
    expect(first.route).toBe(`/x/${hostile}`);
    expect(JSON.parse(statsJson?.stdout as string).byPurpose[`p${RLO}`]).toBe(1);
  });
});

describe('an over-long line (issue 6 item 15)', { timeout: 180_000 }, () => {
  it('a 64 MB line is a reported bad record, read in linear time with bounded memory', async () => {
    const path = join(dir, 'long.jsonl');
    const lines = chainLines([decision(0), decision(1), decision(2)]);
    const out = createWriteStream(path);
    out.write(lines[0]);
    const block = Buffer.alloc(1 << 20, 'x'.charCodeAt(0));
    for (let i = 0; i < 64; i++) if (!out.write(block)) await once(out, 'drain');
    out.write('\n');
    out.write(lines[2]);
    out.end();
    await once(out, 'finish');
    const small = join(dir, 'short.jsonl');
    writeFileSync(small, lines.join(''));

    const baseline = await runCliMeasured(['audit', 'verify', small]);
    const long = await runCliMeasured(['audit', 'verify', path]);
    expect(baseline.code).toBe(0);
    expect(long.code).toBe(1);
    expect(long.stdout).toMatch(
      /long\.jsonl:2 INVALID: line of 67108864 bytes exceeds the 1048576-byte limit/,
    );
    // The line is never held: peak memory stays near that of a three-record log.
    expect(long.maxRssKiB - baseline.maxRssKiB).toBeLessThan(64 * 1024);
    console.info(
      `64 MiB line: ${Math.round(long.ms)} ms, peak RSS ${Math.round(long.maxRssKiB / 1024)} MiB (3-record log: ${Math.round(baseline.ms)} ms, ${Math.round(baseline.maxRssKiB / 1024)} MiB)`,
    );

    const query = await runCliMeasured(['audit', 'stats', path, '--json']);
    expect(query.code).toBe(1);
    expect(JSON.parse(query.stdout).decisions).toBe(2);
    expect(query.maxRssKiB - baseline.maxRssKiB).toBeLessThan(64 * 1024);
  }, 120_000);

  it('the limit is configurable with --max-line-bytes', async () => {
    const lines = chainLines([decision(0), decision(1, { route: `/r/${'y'.repeat(3000)}` })]);
    const path = join(dir, 'limit.jsonl');
    writeFileSync(path, lines.join(''));
    const [strict, lenient] = await Promise.all([
      runCli(['audit', 'verify', path, '--max-line-bytes', '2048']),
      runCli(['audit', 'verify', path]),
    ]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/limit\.jsonl:2 INVALID: line of \d+ bytes exceeds the 2048-byte limit/);
    expect(lenient.code).toBe(0);
  });

  it('--max-line-bytes also raises the limit', async () => {
    const lines = chainLines([decision(0), decision(1, { route: `/r/${'y'.repeat(1_100_000)}` })]);
    const path = join(dir, 'raised.jsonl');
    writeFileSync(path, lines.join(''));
    const [standard, raised] = await Promise.all([
      runCli(['audit', 'verify', path]),
      runCli(['audit', 'verify', path, '--max-line-bytes', String(2 * 1024 * 1024)]),
    ]);
    expect(standard.code).toBe(1);
    expect(raised.code).toBe(0);
  });
});

describe('a deeply nested record (issue 6 item 15)', { timeout: 180_000 }, () => {
  it('is reported as a bad record by verify, query and stats instead of overflowing the stack', async () => {
    const lines = chainLines([decision(0), decision(1)]);
    const depth = 200_000;
    const nested = `{"chain":"crafted","hash":"x","seq":2,"deep":${'['.repeat(depth)}${']'.repeat(depth)}}\n`;
    const path = join(dir, 'deep.jsonl');
    writeFileSync(path, lines.join('') + nested);
    const [verify, query, stats] = await Promise.all([
      runCli(['audit', 'verify', path]),
      runCli(['audit', 'query', path, '--format', 'jsonl']),
      runCli(['audit', 'stats', path]),
    ]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/deep\.jsonl:3 INVALID: JSON nested deeper than 32 levels/);
    expect(verify.stdout).toMatch(/INVALID: 1 problem/);
    expect(query.code).toBe(1);
    expect(query.stdout.trim().split('\n')).toHaveLength(2);
    expect(query.stderr).toMatch(/deep\.jsonl:3 INVALID: JSON nested deeper than 32 levels/);
    expect(stats.code).toBe(1);
    expect(stats.stdout).toMatch(/^2 decisions in 2 records/);
  });
});

describe('records with fields of the wrong type (issue 6 item 15)', { timeout: 180_000 }, () => {
  it('are reported by export, stats and query, which go on with the others', async () => {
    // Correctly chained (so verify accepts it) but written by someone who did not use the schema.
    const bad = { ...decision(1), categories: 'contact' } as unknown as DecisionEvent;
    const lines = chainLines([decision(0), bad, decision(2)]);
    const path = join(dir, 'wrong-type.jsonl');
    writeFileSync(path, lines.join(''));
    const [exported, stats, table, ocsf] = await Promise.all([
      runCli(['audit', 'export', path]),
      runCli(['audit', 'stats', path, '--json']),
      runCli(['audit', 'query', path, '--category', 'contact']),
      runCli(['audit', 'export', path, '--format', 'ocsf']),
    ]);
    for (const run of [exported, stats, table, ocsf]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /wrong-type\.jsonl:2 INVALID: not an audit record: `categories` has the wrong type/,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(exported.stdout.trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(stats.stdout).decisions).toBe(2);
    expect(ocsf.stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('a huge .checkpoints file (issue 6 item 15)', { timeout: 180_000 }, () => {
  it('makes the log invalid (exit 1), with or without keys, instead of crashing (exit 2)', async () => {
    const path = join(dir, 'cp.jsonl');
    writeFileSync(path, chainLines([decision(0), decision(1)]).join(''));
    // 600 MB of NUL bytes (a sparse file: no disk is used), one endless line.
    writeFileSync(`${path}.checkpoints`, '');
    truncateSync(`${path}.checkpoints`, 600 * 1024 * 1024);
    const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwks = join(dir, 'cp-jwks.json');
    writeFileSync(
      jwks,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'EdDSA' }] }),
    );
    const [keyed, unkeyed] = await Promise.all([
      runCliMeasured(['audit', 'verify', path, '--keys', jwks]),
      runCliMeasured(['audit', 'verify', path]),
    ]);
    for (const run of [keyed, unkeyed]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/checkpoint #1 .*INVALID/);
      expect(run.maxRssKiB).toBeLessThan(400 * 1024);
    }
    console.info(
      `600 MB .checkpoints: ${Math.round(keyed.ms)} ms, peak RSS ${Math.round(keyed.maxRssKiB / 1024)} MiB`,
    );
  }, 120_000);
});

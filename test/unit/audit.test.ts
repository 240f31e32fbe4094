import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/audit/canonical.js';
import { ChainHead, genesisHash, recordHash } from '../../src/audit/chain.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import { memoryAuditSink } from '../../src/audit/memory-sink.js';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import type { AuditRecord, DecisionEvent } from '../../src/audit/record.js';
import type { AuditSink } from '../../src/audit/sink.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { isPiplGuardError, PiplConfigError, PiplGuardError } from '../../src/errors/errors.js';

const enforcer = { service: 'unit', instance: 'test-1', version: '0.0.0' };

function decisionEvent(i: number, route = '/users/:id/profile'): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: { id: 'svc-a' },
    subject: 'hmac-sha256:abc',
    method: 'GET',
    route,
    purpose: 'account.profile',
    categories: ['contact', 'identity_basic'],
    operation: 'use',
    basis: 'consent',
    consent: { id: `consent-${i}`, noticeVersion: 2, type: 'general' },
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
  };
}

/** A chain of decision records as the sinks write them, built directly (no I/O). */
function buildLines(count: number, chain = 'pipl-guard', route?: (i: number) => string): string[] {
  const head = new ChainHead(chain);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(head.seal(decisionEvent(i, route?.(i)), 1_767_225_600_000 + i).line);
  }
  return lines;
}

function readRecords(path: string): AuditRecord[] {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditRecord);
}

function expectAuditUnavailable(fn: () => unknown) {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PiplGuardError);
  expect(isPiplGuardError(caught)).toBe(true);
  expect((caught as PiplGuardError).code).toBe('audit_unavailable');
  expect((caught as PiplGuardError).status).toBe(503);
}

let dir: string;
const openSinks: AuditSink[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-audit-'));
});

afterEach(async () => {
  for (const sink of openSinks.splice(0)) await sink.close().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
});

function openSink(options: Partial<Parameters<typeof fileAuditSink>[0]> & { path: string }): AuditSink {
  const sink = fileAuditSink({ enforcer, ...options });
  openSinks.push(sink);
  return sink;
}

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys', () => {
    expect(canonicalize({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
  });

  it('sorts nested objects, including objects inside arrays', () => {
    expect(canonicalize({ z: { y: 1, x: [{ b: 1, a: 2 }, 3] }, a: null })).toBe(
      '{"a":null,"z":{"x":[{"a":2,"b":1},3],"y":1}}',
    );
  });

  it('keeps array order and writes undefined array members as null', () => {
    expect(canonicalize([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalize([1, undefined, 'x'])).toBe('[1,null,"x"]');
    expect(canonicalize([])).toBe('[]');
    expect(canonicalize({})).toBe('{}');
  });

  it('drops undefined members', () => {
    expect(canonicalize({ a: undefined, b: 1, c: { d: undefined } })).toBe('{"b":1,"c":{}}');
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Compare the text: Object.keys() would list the integer-like key "1" first.
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes unicode as is and escapes control characters', () => {
    expect(canonicalize('用户资料 ö 😀')).toBe('"用户资料 ö 😀"');
    expect(canonicalize('a\u0001b\nc"d\\')).toBe('"a\\u0001b\\nc\\"d\\\\"');
    expect(canonicalize({ 键: '值' })).toBe('{"键":"值"}');
  });

  it('serialises numbers like ECMAScript', () => {
    expect(canonicalize(1.0)).toBe('1');
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize(1e21)).toBe('1e+21');
    expect(canonicalize(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(canonicalize(true)).toBe('true');
    expect(canonicalize(false)).toBe('false');
    expect(canonicalize(null)).toBe('null');
  });

  it('throws on NaN and Infinity, also nested', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalize(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => canonicalize(Number.NEGATIVE_INFINITY)).toThrow(TypeError);
    expect(() => canonicalize({ a: { b: [1, Number.NaN] } })).toThrow(/NaN/);
  });

  it('throws on values JSON cannot hold', () => {
    expect(() => canonicalize(1n)).toThrow(TypeError);
    expect(() => canonicalize(() => 1)).toThrow(TypeError);
    expect(() => canonicalize(Symbol('s'))).toThrow(TypeError);
    expect(() => canonicalize(undefined)).toThrow(TypeError);
  });

  it('round-trips through JSON.parse', () => {
    const value = { b: [1, 'two', { c: null, a: false }], a: 'ü', n: -12.5 };
    const text = canonicalize(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(canonicalize(JSON.parse(text))).toBe(text);
  });
});

describe('ChainHead', () => {
  it('derives the genesis hash from the chain name', () => {
    const expected = createHash('sha256').update('pipl-guard/audit/v1\nmy-chain').digest('hex');
    expect(genesisHash('my-chain')).toBe(expected);
    expect(genesisHash('my-chain')).toMatch(/^[0-9a-f]{64}$/);
    expect(genesisHash('other-chain')).not.toBe(expected);
  });

  it('starts at seq 0 linked to the genesis hash', () => {
    const head = new ChainHead('c1');
    expect(head.seq).toBe(0);
    expect(head.prev).toBe(genesisHash('c1'));
    const { record, line } = head.seal(decisionEvent(0), Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(record).toMatchObject({ v: 1, chain: 'c1', seq: 0, prev: genesisHash('c1') });
    expect(record.time).toBe('2026-01-02T03:04:05.678Z');
    expect(record.hash).toBe(recordHash(record));
    expect(line).toBe(`${canonicalize(record)}\n`);
    expect(JSON.parse(line)).toEqual(record);
  });

  it('links each record to the one before and advances', () => {
    const head = new ChainHead('c1');
    const first = head.seal(decisionEvent(0)).record;
    expect(head.seq).toBe(1);
    expect(head.prev).toBe(first.hash);
    const second = head.seal(decisionEvent(1)).record;
    expect(second.seq).toBe(1);
    expect(second.prev).toBe(first.hash);
    expect(second.hash).not.toBe(first.hash);
    expect(head.prev).toBe(second.hash);
  });

  it('continues from a given seq and prev', () => {
    const prev = 'ab'.repeat(32);
    const head = new ChainHead('c1', 41, prev);
    const { record } = head.seal(decisionEvent(0));
    expect(record.seq).toBe(41);
    expect(record.prev).toBe(prev);
  });

  it('issues time-ordered UUIDv7 ids', () => {
    const head = new ChainHead('c1');
    const now = Date.UTC(2026, 5, 1);
    const { record } = head.seal(decisionEvent(0), now);
    expect(record.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(record.id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('does not let an event override chain fields', () => {
    const head = new ChainHead('c1');
    const forged = { ...decisionEvent(0), v: 9, id: 'x', time: 'y', seq: 99, chain: 'evil', prev: '00' };
    const { record } = head.seal(forged as DecisionEvent);
    expect(record).toMatchObject({ v: 1, seq: 0, chain: 'c1', prev: genesisHash('c1') });
    expect(record.id).not.toBe('x');
    expect(record.hash).toBe(recordHash(record));
  });

  it('seals a verifiable record even when the event carries a stray hash member', () => {
    // Events come from adapters and user code (untyped JavaScript); a stray `hash` must not
    // produce a record whose stored hash does not match its content.
    const head = new ChainHead('c1');
    const { record, line } = head.seal({ ...decisionEvent(0), hash: 'ff' } as DecisionEvent);
    expect(record.hash).toBe(recordHash(record));
    expect(JSON.parse(line).hash).toBe(recordHash(JSON.parse(line)));
  });

  it('hashes everything but the hash member', () => {
    const { record } = new ChainHead('c1').seal(decisionEvent(0));
    expect(recordHash({ ...record, hash: 'anything' })).toBe(record.hash);
    expect(recordHash({ ...record, route: '/x' } as AuditRecord)).not.toBe(record.hash);
  });
});

describe('memoryAuditSink', () => {
  it('chains records like the file sink and verifies', async () => {
    const sink = memoryAuditSink({ chain: 'mem' });
    for (let i = 0; i < 3; i++) expect(sink.append(decisionEvent(i))).toBeUndefined();
    expect(sink.records.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(sink.records[0]?.prev).toBe(genesisHash('mem'));
    expect(sink.records[1]?.prev).toBe(sink.records[0]?.hash);
    expect(sink.lines).toHaveLength(3);
    const path = join(dir, 'mem.jsonl');
    fs.writeFileSync(path, sink.lines.join(''));
    const result = await verifyAuditLog(path);
    expect(result).toMatchObject({ valid: true, records: 3, chain: 'mem', lastSeq: 2 });
    expect(result.lastHash).toBe(sink.records[2]?.hash);
  });

  it('refuses records once closed', async () => {
    const sink = memoryAuditSink();
    expect(sink.healthy).toBe(true);
    await sink.close();
    expect(sink.healthy).toBe(false);
    expectAuditUnavailable(() => sink.append(decisionEvent(0)));
    expect(sink.records).toHaveLength(0);
  });
});

describe('fileAuditSink', () => {
  it('writes writer_start and then records in order', async () => {
    const path = join(dir, 'nested', 'dir', 'audit.jsonl');
    const sink = openSink({ path, chain: 'svc' });
    expect(sink.healthy).toBe(true);
    for (let i = 0; i < 5; i++) expect(sink.append(decisionEvent(i))).toBeUndefined();
    await sink.flush();
    const records = readRecords(path);
    expect(records.map((r) => r.type)).toEqual(['writer_start', ...Array(5).fill('decision')]);
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records.slice(1).map((r) => (r as DecisionEvent).requestId)).toEqual([
      'req-0',
      'req-1',
      'req-2',
      'req-3',
      'req-4',
    ]);
    expect(records[0]).toMatchObject({ type: 'writer_start', cleanShutdown: true, chain: 'svc', enforcer });
    expect(records[0]).not.toHaveProperty('repairedBytes');
    const result = await verifyAuditLog(path);
    expect(result).toMatchObject({ valid: true, records: 6, chain: 'svc', lastSeq: 5 });
  });

  it('flush() resolves at once when nothing is queued', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = openSink({ path });
    await sink.flush();
    await sink.flush();
    expect(readRecords(path)).toHaveLength(1);
  });

  it('a durable append resolves after its record is written', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = openSink({ path });
    const pending = sink.append(decisionEvent(7), true);
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    const records = readRecords(path);
    expect(records.at(-1)).toMatchObject({ type: 'decision', requestId: 'req-7', seq: 1 });
  });

  it('close() writes writer_stop, is idempotent and refuses later records', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = openSink({ path });
    sink.append(decisionEvent(0));
    const closing = sink.close();
    expect(sink.close()).toBe(closing);
    await closing;
    await sink.close();
    expect(sink.healthy).toBe(false);
    expectAuditUnavailable(() => sink.append(decisionEvent(1)));
    const records = readRecords(path);
    expect(records.map((r) => r.type)).toEqual(['writer_start', 'decision', 'writer_stop']);
    expect((await verifyAuditLog(path)).valid).toBe(true);
  });

  it('reopening continues the chain after a clean shutdown', async () => {
    const path = join(dir, 'audit.jsonl');
    const first = openSink({ path });
    first.append(decisionEvent(0));
    await first.close();
    const before = readRecords(path);
    const last = before.at(-1) as AuditRecord;

    const second = openSink({ path });
    second.append(decisionEvent(1));
    await second.close();
    const records = readRecords(path);
    const start = records[before.length] as AuditRecord;
    expect(start).toMatchObject({
      type: 'writer_start',
      cleanShutdown: true,
      seq: last.seq + 1,
      prev: last.hash,
    });
    expect(start).not.toHaveProperty('repairedBytes');
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
    const result = await verifyAuditLog(path);
    expect(result).toMatchObject({ valid: true, records: records.length, lastSeq: records.length - 1 });
  });

  it('reopening notes an unclean shutdown when the previous writer did not close', async () => {
    const path = join(dir, 'audit.jsonl');
    const crashed = join(dir, 'crashed.jsonl');
    const first = openSink({ path });
    first.append(decisionEvent(0));
    await first.flush();
    // The file as a writer that never called close() left it.
    fs.copyFileSync(path, crashed);

    const second = openSink({ path: crashed });
    await second.flush();
    const records = readRecords(crashed);
    expect(records.map((r) => r.type)).toEqual(['writer_start', 'decision', 'writer_start']);
    expect(records[2]).toMatchObject({ cleanShutdown: false, seq: 2, prev: records[1]?.hash });
    expect(records[2]).not.toHaveProperty('repairedBytes');
    await second.close();
    expect((await verifyAuditLog(crashed)).valid).toBe(true);
  });

  describe('torn final line', () => {
    async function crashedLog(name: string): Promise<{ path: string; lines: string[] }> {
      const live = join(dir, `${name}.live.jsonl`);
      const path = join(dir, `${name}.jsonl`);
      const sink = openSink({ path: live });
      for (let i = 0; i < 3; i++) sink.append(decisionEvent(i, `/用户/${i}/资料`));
      await sink.flush();
      fs.copyFileSync(live, path);
      return { path, lines: fs.readFileSync(path, 'utf8').split(/(?<=\n)/) };
    }

    it('is cut off on reopen and the chain continues', async () => {
      const { path, lines } = await crashedLog('half');
      const full = Buffer.from(lines.at(-1) as string);
      const half = full.subarray(0, Math.floor(full.length / 2));
      fs.appendFileSync(path, half);
      expect((await verifyAuditLog(path)).problem?.kind).toBe('truncated');

      const sink = openSink({ path });
      await sink.flush();
      const records = readRecords(path);
      expect(records).toHaveLength(lines.length + 1);
      expect(records.at(-1)).toMatchObject({
        type: 'writer_start',
        cleanShutdown: false,
        repairedBytes: half.length,
        seq: lines.length,
      });
      expect(await verifyAuditLog(path)).toMatchObject({ valid: true, records: lines.length + 1 });
      await sink.close();
      expect((await verifyAuditLog(path)).valid).toBe(true);
    });

    it('is cut off by bytes when the tear splits a multi-byte character', async () => {
      const { path, lines } = await crashedLog('utf8');
      const full = Buffer.from(lines.at(-1) as string);
      // End the torn bytes inside the 3-byte UTF-8 sequence of 用.
      const cut = full.indexOf(Buffer.from('用')) + 1;
      fs.appendFileSync(path, full.subarray(0, cut));

      const sink = openSink({ path });
      await sink.flush();
      const records = readRecords(path);
      expect(records.at(-1)).toMatchObject({
        type: 'writer_start',
        cleanShutdown: false,
        repairedBytes: cut,
      });
      expect(await verifyAuditLog(path)).toMatchObject({ valid: true, records: lines.length + 1 });
    });

    it('is cut off when the torn tail is longer than the recovery read chunk', async () => {
      const { path, lines } = await crashedLog('long');
      const junk = 'x'.repeat(200_000);
      fs.appendFileSync(path, junk);
      const sink = openSink({ path });
      await sink.flush();
      expect(readRecords(path).at(-1)).toMatchObject({
        type: 'writer_start',
        cleanShutdown: false,
        repairedBytes: junk.length,
        seq: lines.length,
      });
      expect((await verifyAuditLog(path)).valid).toBe(true);
    });

    it('starts a new chain when the file holds only a torn line', async () => {
      const path = join(dir, 'only-torn.jsonl');
      fs.writeFileSync(path, '{"chain":"pipl-guard","se');
      const sink = openSink({ path });
      await sink.flush();
      const records = readRecords(path);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        type: 'writer_start',
        seq: 0,
        cleanShutdown: false,
        repairedBytes: 25,
      });
      expect((await verifyAuditLog(path)).valid).toBe(true);
    });
  });

  it('refuses a file whose last record belongs to another chain', () => {
    const path = join(dir, 'audit.jsonl');
    fs.writeFileSync(path, buildLines(2, 'other-chain').join(''));
    expect(() => fileAuditSink({ path, chain: 'pipl-guard', enforcer })).toThrow(PiplConfigError);
    expect(() => fileAuditSink({ path, chain: 'pipl-guard', enforcer })).toThrow(/other-chain/);
  });

  it('refuses a file whose last complete line is not JSON', () => {
    const path = join(dir, 'audit.jsonl');
    fs.writeFileSync(path, `${buildLines(2).join('')}garbage\n`);
    expect(() => fileAuditSink({ path, enforcer })).toThrow(PiplConfigError);
  });

  it('refuses to continue after a last line whose seq or hash is not a chain position (it resumed from it before)', () => {
    const path = join(dir, 'audit.jsonl');
    const lines = buildLines(2);
    const last = JSON.parse(lines[1] as string) as Record<string, unknown>;
    for (const bad of [{ seq: '1' }, { seq: -1 }, { hash: 'abc' }]) {
      fs.writeFileSync(path, `${lines[0]}${JSON.stringify({ ...last, ...bad })}\n`);
      expect(() => fileAuditSink({ path, chain: last.chain as string, enforcer })).toThrow(
        /ends in a line that is not an audit record/,
      );
    }
  });

  it('fails closed at start-up when the first write fails (/dev/full: ENOSPC)', () => {
    expect(fs.existsSync('/dev/full')).toBe(true);
    let caught: unknown;
    try {
      fileAuditSink({ path: '/dev/full', enforcer });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PiplConfigError);
    expect((caught as Error).message).toContain('/dev/full');
    expect((caught as Error).message).toContain('ENOSPC');
  });

  it('fails closed at start-up when the directory cannot be created', () => {
    const file = join(dir, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    expect(() => fileAuditSink({ path: join(file, 'audit.jsonl'), enforcer })).toThrow(PiplConfigError);
    expect(() => fileAuditSink({ path: join(file, 'audit.jsonl'), enforcer })).toThrow(/a-file/);
  });

  it('refuses records beyond maxQueueRecords without a gap in the chain', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = openSink({ path, maxQueueRecords: 1 });
    sink.append(decisionEvent(0));
    // Same tick: the first record is still queued.
    expectAuditUnavailable(() => sink.append(decisionEvent(1)));
    expectAuditUnavailable(() => sink.append(decisionEvent(2), true));
    await sink.flush();
    // A full queue is back-pressure, not a broken log: the sink takes records again once drained.
    expect(sink.healthy).toBe(true);
    sink.append(decisionEvent(3));
    await sink.close();
    const records = readRecords(path);
    expect(records.filter((r) => r.type === 'decision').map((r) => (r as DecisionEvent).requestId)).toEqual([
      'req-0',
      'req-3',
    ]);
    expect((await verifyAuditLog(path)).valid).toBe(true);
  });

  it('refuses records beyond maxQueueBytes', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = openSink({ path, maxQueueBytes: 1 });
    sink.append(decisionEvent(0));
    expectAuditUnavailable(() => sink.append(decisionEvent(1)));
    await sink.flush();
    expect((await verifyAuditLog(path)).valid).toBe(true);
  });

  it('goes unhealthy and refuses records after a real write failure (EFBIG under ulimit -f)', async () => {
    // A child process with a 2 KiB file-size limit: writer_start fits, later writes fail for real.
    // Node ignores SIGXFSZ, so write() reports EFBIG instead of killing the process.
    const path = join(dir, 'limited.jsonl');
    const script = join(dir, 'child.mts');
    const sinkUrl = pathToFileURL(
      fileURLToPath(new URL('../../src/audit/file-sink.ts', import.meta.url)),
    ).href;
    fs.writeFileSync(
      script,
      `import { fileAuditSink } from ${JSON.stringify(sinkUrl)};
const event = ${JSON.stringify(decisionEvent(0))};
const sink = fileAuditSink({ path: process.argv[2] });
const out = { healthyAtStart: sink.healthy, written: 0, durable: null, healthyAfter: null, next: null };
try {
  for (let i = 0; i < 50; i++) { await sink.append(event, true); out.written++; }
} catch (error) {
  out.durable = { name: error.name, code: error.code, status: error.status };
}
out.healthyAfter = sink.healthy;
try { sink.append(event); out.next = 'accepted'; } catch (error) { out.next = { name: error.name, code: error.code }; }
console.log(JSON.stringify(out));
process.exit(0);
`,
    );
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(
      'bash',
      ['-c', 'ulimit -f 2 && exec "$0" --import "$1" "$2" "$3"', process.execPath, tsx, script, path],
      { cwd: dir },
    );
    const out = JSON.parse(stdout.trim());
    expect(out.healthyAtStart).toBe(true);
    expect(out.written).toBeGreaterThan(0);
    expect(out.durable).toEqual({ name: 'PiplGuardError', code: 'audit_unavailable', status: 503 });
    expect(out.healthyAfter).toBe(false);
    expect(out.next).toEqual({ name: 'PiplGuardError', code: 'audit_unavailable' });
    expect(fs.statSync(path).size).toBe(2048);

    // Without the limit, the next writer repairs the torn record and the chain verifies.
    const sink = openSink({ path });
    await sink.close();
    const records = readRecords(path);
    const restart = records.find((r, i) => i > 0 && r.type === 'writer_start');
    expect(restart).toMatchObject({ cleanShutdown: false });
    expect((restart as { repairedBytes?: number }).repairedBytes).toBeGreaterThan(0);
    expect((await verifyAuditLog(path)).valid).toBe(true);
  });
});

describe('verifyAuditLog', () => {
  const COUNT = 20;
  let lines: string[];
  let path: string;

  beforeEach(() => {
    lines = buildLines(COUNT, 'pipl-guard', (i) => (i % 3 === 0 ? `/用户/${i}/资料` : `/users/${i}`));
    path = join(dir, 'audit.jsonl');
  });

  const write = (content: string | Buffer | string[]) =>
    fs.writeFileSync(path, Array.isArray(content) ? content.join('') : content);
  const record = (i: number) => JSON.parse(lines[i] as string) as AuditRecord;

  async function expectProblem(kind: string, line: number, extra: Record<string, unknown> = {}) {
    const result = await verifyAuditLog(path);
    expect(result.valid).toBe(false);
    expect(result.problem).toMatchObject({ kind, line, ...extra });
    expect(result.records).toBe(line - 1);
    return result;
  }

  it('accepts an untouched log', async () => {
    write(lines);
    const result = await verifyAuditLog(path);
    expect(result).toEqual({
      valid: true,
      records: COUNT,
      chain: 'pipl-guard',
      lastSeq: COUNT - 1,
      lastHash: record(COUNT - 1).hash,
    });
  });

  it('accepts an empty file as a valid empty log (nothing to check; compare with a checkpoint)', async () => {
    write('');
    expect(await verifyAuditLog(path)).toEqual({ valid: true, records: 0 });
  });

  it('rejects a missing file', async () => {
    await expect(verifyAuditLog(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);
  });

  it('detects a changed digit in seq', async () => {
    lines[10] = (lines[10] as string).replace('"seq":10,', '"seq":19,');
    write(lines);
    await expectProblem('hash_mismatch', 11, { expectedSeq: 10, foundSeq: 19 });
  });

  it('detects a changed character inside a string value', async () => {
    lines[5] = (lines[5] as string).replace('"requestId":"req-5"', '"requestId":"req-6"');
    write(lines);
    await expectProblem('hash_mismatch', 6, { expectedSeq: 5, foundSeq: 5 });
  });

  it('detects a changed character inside a unicode string value', async () => {
    lines[3] = (lines[3] as string).replace('/用户/3/资料', '/用户/3/资粮');
    write(lines);
    await expectProblem('hash_mismatch', 4);
  });

  it('detects a changed hash character', async () => {
    const { hash } = record(4);
    const flipped = (hash[0] === 'a' ? 'b' : 'a') + hash.slice(1);
    lines[4] = (lines[4] as string).replace(`"hash":"${hash}"`, `"hash":"${flipped}"`);
    write(lines);
    await expectProblem('hash_mismatch', 5);
  });

  it('detects an inserted space', async () => {
    lines[7] = (lines[7] as string).replace('","', '", "');
    write(lines);
    await expectProblem('not_canonical', 8);
  });

  it('detects a CR inserted before the LF', async () => {
    lines[2] = (lines[2] as string).replace(/\n$/, '\r\n');
    write(lines);
    await expectProblem('not_canonical', 3);
  });

  it('detects a CR before the final LF', async () => {
    lines[COUNT - 1] = (lines[COUNT - 1] as string).replace(/\n$/, '\r\n');
    write(lines);
    await expectProblem('not_canonical', COUNT);
  });

  it('says why when the whole file was converted to CRLF line endings (every record is still modified)', async () => {
    write(lines.map((line) => line.replace(/\n$/, '\r\n')));
    const { problem } = await expectProblem('not_canonical', 1);
    expect(problem?.message).toMatch(
      /ends in a carriage return: the file was converted to CRLF line endings/,
    );
  });

  it('detects a changed key order that is still valid JSON', async () => {
    const parsed = record(6);
    const reversed = Object.fromEntries(Object.entries(parsed).reverse());
    lines[6] = `${JSON.stringify(reversed)}\n`;
    expect(JSON.parse(lines[6] as string)).toEqual(parsed);
    write(lines);
    await expectProblem('not_canonical', 7);
  });

  it("detects an edit whose record hash was recomputed: the next record's prev breaks", async () => {
    const edited = { ...record(8), route: '/admin/export' } as AuditRecord;
    edited.hash = recordHash(edited);
    lines[8] = `${canonicalize(edited)}\n`;
    write(lines);
    await expectProblem('prev_mismatch', 10, { expectedSeq: 9, foundSeq: 9 });
  });

  it('cannot see a re-hashed edit of the LAST record (documented limitation): lastHash changes', async () => {
    const original = record(COUNT - 1);
    const edited = { ...original, route: '/admin/export' } as AuditRecord;
    edited.hash = recordHash(edited);
    lines[COUNT - 1] = `${canonicalize(edited)}\n`;
    write(lines);
    const result = await verifyAuditLog(path);
    expect(result.valid).toBe(true);
    expect(result.lastHash).toBe(edited.hash);
    expect(result.lastHash).not.toBe(original.hash);
  });

  it('detects the deletion of the first record', async () => {
    write(lines.slice(1));
    await expectProblem('seq_gap', 1, { expectedSeq: 0, foundSeq: 1 });
  });

  it('detects the deletion of a middle record', async () => {
    write([...lines.slice(0, 10), ...lines.slice(11)]);
    await expectProblem('seq_gap', 11, { expectedSeq: 10, foundSeq: 11 });
  });

  it('cannot see the deletion of the last record from the file alone (documented): lastSeq/lastHash change', async () => {
    write(lines.slice(0, -1));
    const result = await verifyAuditLog(path);
    expect(result.valid).toBe(true);
    expect(result.records).toBe(COUNT - 1);
    expect(result.lastSeq).toBe(COUNT - 2);
    expect(result.lastHash).toBe(record(COUNT - 2).hash);
    expect(result.lastHash).not.toBe(record(COUNT - 1).hash);
  });

  it('detects two swapped records', async () => {
    const swapped = [...lines];
    [swapped[4], swapped[5]] = [lines[5] as string, lines[4] as string];
    write(swapped);
    await expectProblem('seq_gap', 5, { expectedSeq: 4, foundSeq: 5 });
  });

  it('detects a duplicated record', async () => {
    write([...lines.slice(0, 6), lines[5] as string, ...lines.slice(6)]);
    await expectProblem('reordered', 7, { expectedSeq: 6, foundSeq: 5 });
  });

  it('detects a duplicated last record', async () => {
    write([...lines, lines[COUNT - 1] as string]);
    await expectProblem('reordered', COUNT + 1, { expectedSeq: COUNT, foundSeq: COUNT - 1 });
  });

  it('detects a truncated last line', async () => {
    const last = lines[COUNT - 1] as string;
    write([...lines.slice(0, -1), last.slice(0, last.length - 10)]);
    const result = await expectProblem('truncated', COUNT);
    expect(result.lastSeq).toBe(COUNT - 2);
  });

  it('detects a missing final newline', async () => {
    write([...lines.slice(0, -1), (lines[COUNT - 1] as string).slice(0, -1)]);
    await expectProblem('truncated', COUNT);
  });

  it('detects a record from another chain', async () => {
    const foreign = buildLines(COUNT, 'other-chain');
    write([...lines.slice(0, 5), foreign[5] as string, ...lines.slice(6)]);
    await expectProblem('chain_mismatch', 6, { foundSeq: 5 });
  });

  it('reports the chain name so a whole foreign log can be told apart', async () => {
    write(buildLines(3, 'other-chain'));
    expect(await verifyAuditLog(path)).toMatchObject({ valid: true, chain: 'other-chain' });
  });

  it('detects a first record that does not link to its genesis', async () => {
    // seq 0 of chain "other-chain" relabelled as chain "pipl-guard", re-hashed.
    const moved = {
      ...(JSON.parse(buildLines(1, 'other-chain')[0] as string) as AuditRecord),
      chain: 'pipl-guard',
    };
    moved.hash = recordHash(moved);
    write([`${canonicalize(moved)}\n`]);
    await expectProblem('prev_mismatch', 1);
  });

  it('detects blank lines and lines that are not records', async () => {
    for (const bad of [
      '\n',
      'null\n',
      '[]\n',
      '42\n',
      '{}\n',
      '{"seq":"1","hash":"x","chain":"pipl-guard"}\n',
    ]) {
      write([...lines.slice(0, 3), bad, ...lines.slice(3)]);
      await expectProblem('malformed', 4);
    }
  });

  it('detects a change of any single byte (deterministic sample of offsets in a 20-record log)', async () => {
    const original = Buffer.from(lines.join(''));
    // Line number (1-based) each byte belongs to; a line's LF belongs to that line.
    const lineOf: number[] = [];
    let line = 1;
    for (const byte of original) {
      lineOf.push(line);
      if (byte === 0x0a) line++;
    }
    // Every byte of the first and last lines, every LF, and every 11th byte in between
    // (each middle line gets ~50 offsets spread over all its fields).
    const firstEnd = original.indexOf(0x0a);
    const lastStart = original.lastIndexOf(0x0a, original.length - 2) + 1;
    const offsets: number[] = [];
    for (let offset = 0; offset < original.length; offset++) {
      if (offset <= firstEnd || offset >= lastStart || original[offset] === 0x0a || offset % 11 === 0) {
        offsets.push(offset);
      }
    }
    let checked = 0;
    for (const offset of offsets) {
      const tampered = Buffer.from(original);
      let replacement = 0x21 + ((offset * 31) % 94); // printable ASCII, '!'..'~'
      if (replacement === tampered[offset]) replacement = replacement === 0x7e ? 0x21 : replacement + 1;
      tampered[offset] = replacement;
      write(tampered);
      const result = await verifyAuditLog(path);
      if (result.valid || result.problem?.line !== lineOf[offset]) {
        throw new Error(
          `byte ${offset} (${JSON.stringify(String.fromCharCode(original[offset] as number))} -> ${JSON.stringify(
            String.fromCharCode(replacement),
          )}) on line ${lineOf[offset]}: ${JSON.stringify(result)}`,
        );
      }
      checked++;
    }
    expect(checked).toBe(offsets.length);
    expect(checked).toBeGreaterThan(1500);
  });

  it('verifies a log spanning many read chunks, with a multi-byte character across a chunk boundary', async () => {
    const CHUNK = 64 * 1024; // fs.createReadStream default highWaterMark
    let big: Buffer | undefined;
    for (let pad = 0; pad < 600 && big === undefined; pad++) {
      const route = (i: number) => (i === 0 ? `/${'x'.repeat(pad)}` : `/${'路'.repeat(200)}/${i}`);
      const candidate = Buffer.from(buildLines(150, 'pipl-guard', route).join(''));
      // 0b10xxxxxx: a continuation byte, so the boundary splits a character.
      if (((candidate[CHUNK] as number) & 0xc0) === 0x80) big = candidate;
    }
    expect(big).toBeDefined();
    const content = big as Buffer;
    expect(content.length).toBeGreaterThan(2 * CHUNK);
    write(content);
    expect(await verifyAuditLog(path)).toMatchObject({ valid: true, records: 150, lastSeq: 149 });

    // A change right at the boundary is found on the right line.
    const boundaryLine = content.subarray(0, CHUNK).toString('latin1').split('\n').length;
    const tampered = Buffer.from(content);
    tampered[CHUNK] = 0x41;
    write(tampered);
    const result = await verifyAuditLog(path);
    expect(result.valid).toBe(false);
    expect(result.problem?.line).toBe(boundaryLine);
    // The edit broke a multi-byte character: invalid UTF-8 is a bad record, never decoded to U+FFFD.
    expect(result.problem?.kind).toBe('malformed');
  });

  it('verifies what fileAuditSink writes, unicode included', async () => {
    const sink = openSink({ path });
    for (let i = 0; i < 10; i++) sink.append(decisionEvent(i, `/用户/${i}`));
    await sink.close();
    // No chain named: `<hostname>-<8 hex>`, distinct per instance.
    expect(await verifyAuditLog(path)).toMatchObject({
      valid: true,
      records: 12,
      chain: expect.stringMatching(/^.+-[0-9a-f]{8}$/),
    });
  });
});

describe('createPseudonymizer', () => {
  const key = 'k'.repeat(32);

  it('rejects keys shorter than 32 bytes', () => {
    expect(() => createPseudonymizer('k'.repeat(31))).toThrow(PiplConfigError);
    expect(() => createPseudonymizer('')).toThrow(PiplConfigError);
    expect(() => createPseudonymizer(new Uint8Array(31))).toThrow(PiplConfigError);
    expect(() => createPseudonymizer(new Uint8Array(32))).not.toThrow();
    expect(() => createPseudonymizer(key)).not.toThrow();
  });

  it('counts key length in bytes, not characters', () => {
    // 11 characters, 33 UTF-8 bytes.
    expect(() => createPseudonymizer('密'.repeat(11))).not.toThrow();
  });

  it('is deterministic and has the documented form', () => {
    const pseudonymize = createPseudonymizer(key);
    const a = pseudonymize('user-1');
    expect(a).toBe(createPseudonymizer(key)('user-1'));
    expect(a).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    expect(pseudonymize('user-2')).not.toBe(a);
  });

  it('gives different output under different keys', () => {
    const other = `${'k'.repeat(31)}j`;
    expect(createPseudonymizer(other)('user-1')).not.toBe(createPseudonymizer(key)('user-1'));
    expect(createPseudonymizer(Buffer.from(key))('user-1')).toBe(createPseudonymizer(key)('user-1'));
  });

  it('never contains the raw id', () => {
    const pseudonymize = createPseudonymizer(key);
    for (const id of ['user-1', 'alice@example.com', '110101199003071234', '张三', 'hmac-sha256:user-1']) {
      const out = pseudonymize(id);
      expect(out).not.toContain(id);
      expect(out.slice('hmac-sha256:'.length)).not.toContain(id);
    }
  });
});

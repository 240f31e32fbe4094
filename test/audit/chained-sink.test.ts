/**
 * `chainedAuditSink`: a sink on a store of the application's own. What the sink conformance suite
 * does not ask: a store that cannot be read or continued fails the `await` at start-up, and a guard
 * on such a sink fails closed over real HTTP while the store fails, then recovers.
 */
import { generateKeyPairSync } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { type AuditStore, chainedAuditSink } from '../../src/audit/chained-sink.js';
import type { AuditLine } from '../../src/audit/reader.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { AUDIT_KEY, guardOptions, makeKeys, tokenFor } from '../support/fixture.js';

/** A store in arrays, with switches that make `write` or `writeCheckpoint` fail like a store that went away. */
function arrayStore(lines: string[] = [], checkpoints: string[] = []) {
  const state = { lines, checkpoints, failing: false, checkpointsFailing: false, writes: 0 };
  const store: AuditStore = {
    lastLine: async () => state.lines.at(-1),
    async write(batch) {
      state.writes++;
      if (state.failing) throw new Error('store unreachable');
      state.lines.push(...batch);
    },
    async writeCheckpoint(jws) {
      if (state.checkpointsFailing) throw new Error('checkpoint bucket unreachable');
      state.checkpoints.push(jws);
    },
    lastCheckpoint: async () => state.checkpoints.at(-1),
  };
  return { state, store };
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = { key: privateKey, kid: 'cp-1' };
const keys = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'cp-1', alg: 'EdDSA' }] };
const outcome = (i: number) =>
  ({ type: 'outcome', requestId: `r-${i}`, purpose: 'account.profile', status: 200, durationMs: 1 }) as const;

async function* linesOf(lines: readonly string[]): AsyncGenerator<AuditLine> {
  for (const [i, text] of lines.entries())
    yield { text: text.replace(/\n$/, ''), file: 'store', line: i + 1, torn: false };
}

const records = (lines: readonly string[]) =>
  lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('chainedAuditSink: opening', () => {
  it('refuses a missing chain name', async () => {
    await expect(chainedAuditSink(arrayStore().store, { chain: '' })).rejects.toMatchObject({
      code: 'config_invalid',
    });
  });

  it('fails the await when the store cannot say where the chain stopped', async () => {
    const store: AuditStore = {
      lastLine: () => Promise.reject(new Error('bucket listing denied')),
      write: async () => {},
    };
    await expect(chainedAuditSink(store, { chain: 'api-1' })).rejects.toThrow(
      /cannot be read: bucket listing denied/,
    );
  });

  it.each([
    ['not JSON', '{"seq":4,"hash":'],
    ['a string seq', `{"seq":"4","hash":"${'a'.repeat(64)}","chain":"api-1"}`],
    ['a negative seq', `{"seq":-1,"hash":"${'a'.repeat(64)}","chain":"api-1"}`],
    ['a short hash', '{"seq":4,"hash":"abc","chain":"api-1"}'],
    ['JSON null', 'null'],
  ])('fails the await when the last line is %s: the chain cannot be continued', async (_what, line) => {
    const { store, state } = arrayStore([line]);
    await expect(chainedAuditSink(store, { chain: 'api-1' })).rejects.toThrow(/is not an audit record/);
    expect(state.writes).toBe(0);
  });

  it("refuses to continue another chain's records: one store per chain", async () => {
    const other = arrayStore();
    await (await chainedAuditSink(other.store, { chain: 'api-2' })).close();
    const { store, state } = arrayStore([...other.state.lines]);
    await expect(chainedAuditSink(store, { chain: 'api-1' })).rejects.toThrow(
      /belongs to chain "api-2", not "api-1"/,
    );
    expect(state.lines).toEqual(other.state.lines);
  });

  it('fails the await when the store does not take the writer_start record', async () => {
    const { store, state } = arrayStore();
    state.failing = true;
    await expect(chainedAuditSink(store, { chain: 'api-1' })).rejects.toThrow(
      /does not take records.*store unreachable/,
    );
  });

  it('continues the chain across writers; a writer that did not close is reported as an unclean restart', async () => {
    const { store, state } = arrayStore();
    const first = await chainedAuditSink(store, { chain: 'api-1' });
    first.append({
      type: 'outcome',
      requestId: 'r-1',
      purpose: 'account.profile',
      status: 200,
      durationMs: 1,
    });
    await first.close();
    const second = await chainedAuditSink(store, { chain: 'api-1' });
    await second.append(
      { type: 'outcome', requestId: 'r-2', purpose: 'account.profile', status: 200, durationMs: 1 },
      true,
    );
    // No close: the process "died". The third writer says so.
    const third = await chainedAuditSink(store, { chain: 'api-1' });
    await third.close();
    const starts = records(state.lines).filter((r) => r.type === 'writer_start');
    expect(starts.map((r) => r.cleanShutdown)).toEqual([true, true, false]);
    expect(records(state.lines).map((r) => r.seq)).toEqual(state.lines.map((_, i) => i));
    const report = await verifyAuditTrail(linesOf(state.lines));
    expect(report).toMatchObject({ valid: true, firstSeq: 0, lastSeq: state.lines.length - 1 });
    expect(report.notices.some((n) => n.includes('unclean restart'))).toBe(true);
  });
});

describe('chainedAuditSink: reading a store back', () => {
  it('lines handed to the verifier with their newline are reported modified, and the message says why', async () => {
    const { store, state } = arrayStore();
    await (await chainedAuditSink(store, { chain: 'api-1' })).close();
    async function* withNewlines(): AsyncGenerator<AuditLine> {
      for (const [i, text] of state.lines.entries()) yield { text, file: 'store', line: i + 1, torn: false };
    }
    const report = await verifyAuditTrail(withNewlines());
    expect(report.valid).toBe(false);
    expect(report.problems[0]?.message).toMatch(/ends in a newline: hand the verifier each line without it/);
  });
});

describe('chainedAuditSink: signed checkpoints', () => {
  it('refuses `checkpoint` on a store that cannot keep them', async () => {
    const { store } = arrayStore();
    const { writeCheckpoint: _w, lastCheckpoint: _l, ...recordsOnly } = store;
    await expect(chainedAuditSink(recordsOnly, { chain: 'api-1', checkpoint: signer })).rejects.toThrow(
      /needs a store with writeCheckpoint\(\) and lastCheckpoint\(\)/,
    );
  });

  it('signs every N records and at close, linked across writers; deleting the newest records is then detected', async () => {
    const { store, state } = arrayStore();
    for (const writerRun of [0, 1]) {
      const sink = await chainedAuditSink(store, {
        chain: 'api-1',
        checkpoint: { ...signer, everyRecords: 1000 },
      });
      for (let i = 0; i < 2500; i++) sink.append(outcome(writerRun * 2500 + i));
      await sink.close();
    }
    const intact = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(intact).toMatchObject({ valid: true, unsignedTail: 0 });
    expect(intact.checkpoints.valid).toBe(intact.checkpoints.total);
    // Per writer: one after a batch reached 1000 records (the 2500 went out as one batch), one at close.
    // The second writer's first links to the first writer's last: the verifier checks every link.
    const triggers = state.checkpoints.map(
      (jws) => JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()).trigger,
    );
    expect(triggers).toEqual(['records', 'close', 'records', 'close']);
    expect(intact.checkpoints.lastCoveredSeq).toBe(state.lines.length - 1);

    // Someone with write access to the store removes the newest records; the checkpoints remember them.
    const cut = state.lines.slice(0, -5);
    const truncated = await verifyAuditTrail(linesOf(cut), { keys, checkpoints: state.checkpoints });
    expect(truncated.valid).toBe(false);
    expect(truncated.problems.map((p) => p.kind)).toContain('log_truncated');
  });

  it('a checkpoint the store cannot take goes to onError; records are still stored and the next checkpoint links to the last one stored', async () => {
    const { store, state } = arrayStore();
    const errors: Error[] = [];
    const sink = await chainedAuditSink(store, {
      chain: 'api-1',
      checkpoint: { ...signer, everyRecords: 10 },
      onError: (error) => errors.push(error),
    });
    for (let i = 0; i < 15; i++) sink.append(outcome(i));
    await sink.flush();
    state.checkpointsFailing = true;
    for (let i = 15; i < 30; i++) sink.append(outcome(i));
    await sink.flush();
    state.checkpointsFailing = false;
    for (let i = 30; i < 45; i++) await sink.append(outcome(i), true);
    await sink.close();
    expect(errors.map((e) => e.message)).toContain('checkpoint bucket unreachable');
    expect(records(state.lines).filter((r) => r.type === 'outcome')).toHaveLength(45);
    const report = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(report).toMatchObject({ valid: true, unsignedTail: 0 });
  });
});

describe('chainedAuditSink: interval checkpoints', () => {
  it('a quiet chain is signed every everyMs: the records of a slow hour are not left unsigned until close', async () => {
    const { store, state } = arrayStore();
    const sink = await chainedAuditSink(store, {
      chain: 'api-1',
      checkpoint: { ...signer, everyRecords: 1000, everyMs: 200 },
    });
    for (let i = 0; i < 3; i++) sink.append(outcome(i));
    await sink.flush(); // stored well within the first interval, far short of everyRecords
    await vi.waitFor(() => expect(state.checkpoints).toHaveLength(1), { timeout: 2000 });
    const signed = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(signed).toMatchObject({ valid: true, unsignedTail: 0 });
    // Nothing new for two more intervals: no checkpoint for nothing.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(state.checkpoints).toHaveLength(1);
    await sink.close();
    const triggers = state.checkpoints.map(
      (jws) => JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()).trigger,
    );
    expect(triggers).toEqual(['interval', 'close']);
  });
});

describe('chainedAuditSink: a checkpoint store that hangs or answers wrongly', () => {
  it('records sealed while a checkpoint is being stored are covered by the next one', async () => {
    const { store, state } = arrayStore();
    const writeCheckpoint = store.writeCheckpoint as (jws: string) => Promise<void>;
    let release: () => void = () => {};
    let started: () => void = () => {};
    const held = new Promise<void>((resolve) => (started = resolve));
    let calls = 0;
    store.writeCheckpoint = async (jws) => {
      if (calls++ === 0) {
        started();
        await new Promise<void>((resolve) => (release = resolve));
      }
      await writeCheckpoint(jws);
    };
    const sink = await chainedAuditSink(store, {
      chain: 'api-1',
      checkpoint: { ...signer, everyRecords: 1 },
    });
    await sink.append(outcome(0), true); // stored; its checkpoint goes to the store, which holds it
    await held;
    sink.append(outcome(1)); // sealed while that checkpoint is being stored
    release();
    await sink.flush();
    await vi.waitFor(() => expect(state.checkpoints).toHaveLength(2), { timeout: 2000 });
    const covered = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(covered).toMatchObject({ valid: true, unsignedTail: 0 });
    await sink.close();
  });

  it('a writeCheckpoint that never answers counts as failed after timeoutMs; records keep flowing', async () => {
    const { store, state } = arrayStore();
    const errors: Error[] = [];
    let hang = true;
    const writeCheckpoint = store.writeCheckpoint as (jws: string) => Promise<void>;
    store.writeCheckpoint = (jws) => (hang ? new Promise(() => {}) : writeCheckpoint(jws));
    const sink = await chainedAuditSink(store, {
      chain: 'api-1',
      checkpoint: { ...signer, everyRecords: 5, timeoutMs: 50 },
      onError: (error) => errors.push(error),
    });
    for (let i = 0; i < 10; i++) sink.append(outcome(i));
    await sink.flush();
    await expect.poll(() => errors.length, { timeout: 2000 }).toBeGreaterThan(0);
    expect(errors[0]?.message).toMatch(/writeCheckpoint did not answer within 50 ms/);
    hang = false;
    for (let i = 10; i < 20; i++) await sink.append(outcome(i), true);
    await sink.close();
    expect(records(state.lines).filter((r) => r.type === 'outcome')).toHaveLength(20);
    const report = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(report).toMatchObject({ valid: true, unsignedTail: 0 });
  });

  it('a checkpoint stored although the store answered an error is linked to, not forked from', async () => {
    const { store, state } = arrayStore();
    let lose = true;
    const writeCheckpoint = store.writeCheckpoint as (jws: string) => Promise<void>;
    store.writeCheckpoint = async (jws) => {
      await writeCheckpoint(jws);
      if (lose) {
        lose = false;
        throw new Error('connection reset (the put had landed)');
      }
    };
    const sink = await chainedAuditSink(store, {
      chain: 'api-1',
      checkpoint: { ...signer, everyRecords: 5 },
      onError: () => {},
    });
    for (let i = 0; i < 20; i++) await sink.append(outcome(i), true);
    await sink.close();
    expect(state.checkpoints.length).toBeGreaterThanOrEqual(3);
    const report = await verifyAuditTrail(linesOf(state.lines), { keys, checkpoints: state.checkpoints });
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });
});

describe('chainedAuditSink under a guard, over HTTP', () => {
  it('a sensitive request waits for the store; while it fails the guard answers 503 and recovers with it', async () => {
    const keys = await makeKeys();
    const { store, state } = arrayStore();
    const sink = await chainedAuditSink(store, { chain: 'api-1', retryMs: 10 });
    const { guard: pipl } = guardOptions(keys, { audit: { sink, subjectKey: AUDIT_KEY } });
    const guard = expressGuard(pipl);
    const app = express();
    app.get('/me/health', guard('health.records', { operation: 'use' }), (_req, res) => {
      // The handler runs only once the decision is in the store (durable: sensitive category).
      const stored = records(state.lines).some((r) => r.type === 'decision' && r.decision === 'allow');
      res.json({ stored });
    });
    const token = await tokenFor(keys, {
      grants: [
        { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'separate' },
      ],
    });

    const ok = await request(app).get('/me/health').set('pipl-consent', token);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ stored: true });

    state.failing = true;
    const refused = await request(app).get('/me/health').set('pipl-consent', token);
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.body.code).toBe('audit_unavailable');
    expect(JSON.stringify(refused.body)).not.toContain(token);
    // While the store fails, no request reaches the data.
    const still = await request(app).get('/me/health').set('pipl-consent', token);
    expect(still.status).toBe(503);

    state.failing = false;
    await expect.poll(() => sink.healthy, { timeout: 2000, interval: 10 }).toBe(true);
    const again = await request(app).get('/me/health').set('pipl-consent', token);
    expect(again.status).toBe(200);
    await pipl.close();

    const report = await verifyAuditTrail(linesOf(state.lines));
    expect(report.valid).toBe(true);
    const stored = records(state.lines);
    expect(stored.at(-1)?.type).toBe('writer_stop');
    // The subject is pseudonymised and no token is stored, as with every sink.
    expect(state.lines.join('')).not.toContain(token);
    expect(
      stored.filter((r) => r.type === 'decision').every((r) => String(r.subject).startsWith('hmac-sha256:')),
    ).toBe(true);
  });
});

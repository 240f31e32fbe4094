/**
 * `chainedAuditSink`: a sink on a store of the application's own. What the sink conformance suite
 * does not ask: a store that cannot be read or continued fails the `await` at start-up, and a guard
 * on such a sink fails closed over real HTTP while the store fails, then recovers.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { type AuditStore, chainedAuditSink } from '../../src/audit/chained-sink.js';
import type { AuditLine } from '../../src/audit/reader.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { createPiplGuard } from '../../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, makeKeys, policy, tokenFor } from '../support/fixture.js';

/** A store in an array, with a switch that makes `write` fail like a store that went away. */
function arrayStore(lines: string[] = []) {
  const state = { lines, failing: false, writes: 0 };
  const store: AuditStore = {
    lastLine: async () => state.lines.at(-1),
    async write(batch) {
      state.writes++;
      if (state.failing) throw new Error('store unreachable');
      state.lines.push(...batch);
    },
  };
  return { state, store };
}

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

describe('chainedAuditSink under a guard, over HTTP', () => {
  it('a sensitive request waits for the store; while it fails the guard answers 503 and recovers with it', async () => {
    const keys = await makeKeys();
    const { store, state } = arrayStore();
    const sink = await chainedAuditSink(store, { chain: 'api-1', retryMs: 10 });
    const pipl = createPiplGuard({
      policy,
      consent: {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['ES256'],
        jwks: { keys: [keys.publicJwk] },
      },
      audit: { sink, subjectKey: AUDIT_KEY },
    });
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

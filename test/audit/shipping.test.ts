/**
 * Issue 6 item 10: `onCheckpoint` used to be awaited inside the write loop. A receiver that failed
 * made every guarded route answer 503; one that hung left durable requests without an answer.
 * Shipping is now asynchronous, bounded (timeout, retries) and announced through `onError`.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { type CryptoKey, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { createPiplGuard } from '../../src/index.js';
import { AUDIT_KEY, guardOptions, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

let keys: Keys;
let signingKey: CryptoKey;
let dir: string;
beforeAll(async () => {
  keys = await makeKeys();
  signingKey = (await generateKeyPair('EdDSA', { extractable: true })).privateKey;
});
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-ship-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** An Express app whose every decision is durable and followed by a checkpoint. */
function appWith(onCheckpoint: () => Promise<void>, errors: Error[]) {
  const path = join(dir, 'audit.jsonl');
  const sink = fileAuditSink({
    path,
    checkpoint: {
      key: signingKey,
      kid: 'ship',
      everyRecords: 1,
      everyMs: 3_600_000,
      onCheckpoint,
      shipping: { timeoutMs: 100, attempts: 2, backoffMs: 10 },
    },
    onError: (error) => errors.push(error),
  });
  const { options } = guardOptions(keys);
  const pipl = createPiplGuard({ ...options, audit: { sink, subjectKey: AUDIT_KEY, durable: 'always' } });
  const app = express();
  app.get(
    '/users/:id/profile',
    expressGuard(pipl)('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  return { app, pipl, path };
}

async function tenRequests(app: express.Express): Promise<number[]> {
  const token = await tokenFor(keys);
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const response = await request(app).get('/users/user-1/profile').set('pipl-consent', token).timeout(3000);
    statuses.push(response.status);
  }
  return statuses;
}

describe('checkpoint shipping never blocks or fails guarded routes (issue 6 item 10)', () => {
  it('a failing onCheckpoint: every request still answered 200, failures announced through onError', async () => {
    const errors: Error[] = [];
    let calls = 0;
    const { app, pipl, path } = appWith(async () => {
      calls++;
      throw new Error('SIEM said 500');
    }, errors);
    expect(await tenRequests(app)).toEqual(Array(10).fill(200));
    await pipl.close();
    expect(calls).toBeGreaterThan(0);
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(
        /checkpoint shipping failed for seq \d+ \(attempt 2\/2, given up\): SIEM said 500/,
      ),
    );
    // Stored locally all the same: the trail verifies with every checkpoint.
    const report = await verifyAuditTrail(path);
    expect(report.valid).toBe(true);
    expect(report.checkpoints.total).toBeGreaterThanOrEqual(10);
  });

  it('a hanging onCheckpoint: durable requests still get answers, the timeout is announced, close() returns', async () => {
    const errors: Error[] = [];
    const { app, pipl, path } = appWith(() => new Promise<void>(() => {}), errors);
    expect(await tenRequests(app)).toEqual(Array(10).fill(200));
    await pipl.close();
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/onCheckpoint did not complete within 100 ms/),
    );
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/not shipped at close/));
    expect((await verifyAuditTrail(path)).valid).toBe(true);
  });

  it('ships every checkpoint once, in order, when the receiver works', async () => {
    const errors: Error[] = [];
    const shipped: number[] = [];
    const path = join(dir, 'ok.jsonl');
    const sink = fileAuditSink({
      path,
      checkpoint: {
        key: signingKey,
        kid: 'ship',
        everyRecords: 1,
        everyMs: 3_600_000,
        onCheckpoint: async ({ payload }) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          shipped.push(payload.lastSeq);
        },
      },
      onError: (error) => errors.push(error),
    });
    for (let i = 0; i < 5; i++) {
      sink.append({ type: 'outcome', requestId: `r${i}`, purpose: 'p', status: 200, durationMs: 1 });
      await sink.flush();
    }
    await sink.close();
    const local = fs.readFileSync(`${path}.checkpoints`, 'utf8').split('\n').filter(Boolean);
    expect(shipped).toHaveLength(local.length);
    expect(shipped).toEqual([...shipped].sort((a, b) => a - b));
    expect(errors).toEqual([]);
  });
});

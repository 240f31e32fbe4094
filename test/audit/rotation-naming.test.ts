/**
 * Issue 6 item 2: a rotated segment is named by the first seq of the active file. That seq used to
 * be searched for in the file's first 4 KB; a first record longer than that (one request with a
 * long path id) gave `…000000000000`, and the rename replaced the oldest segment — records gone.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditRecord, DecisionEvent } from '../../src/audit/record.js';
import { segmentName } from '../../src/audit/segments.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';

const enforcer = { service: 'rotation-test', instance: 'test-1', version: '0.0.0' };
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-rotation-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function decision(i: number, route = '/users/:id'): DecisionEvent {
  return {
    type: 'decision',
    requestId: `req-${i}`,
    actor: null,
    subject: 'hmac-sha256:abc',
    method: 'GET',
    route,
    purpose: 'account.profile',
    categories: ['identity_basic'],
    operation: 'use',
    basis: 'consent',
    consent: null,
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
  };
}

const records = (path: string) =>
  fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);

const segmentFiles = () =>
  fs
    .readdirSync(dir)
    .filter((name) => /\.\d{12}$/.test(name))
    .sort();

describe('rotation never overwrites a segment (issue 6 item 2)', () => {
  it('attack: a first record longer than 4 KB in the active file does not replace segment 0', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = fileAuditSink({ path, enforcer, rotate: { maxBytes: 2000 } });
    for (let i = 0; i < 5; i++) sink.append(decision(i));
    await sink.flush(); // > 2000 bytes: rotated into audit.jsonl.000000000000
    expect(segmentFiles()).toEqual([segmentName('audit.jsonl', 0)]);
    const oldest = fs.readFileSync(join(dir, segmentName('audit.jsonl', 0)), 'utf8');

    // The next active file starts with a record longer than 4 KB (a long path id), then rotates.
    sink.append(decision(5, `/users/${'x'.repeat(5000)}`));
    await sink.flush();
    await sink.close();

    // Segment 0 is untouched, the new segment is named after its real first seq (6).
    expect(fs.readFileSync(join(dir, segmentName('audit.jsonl', 0)), 'utf8')).toBe(oldest);
    expect(segmentFiles()).toEqual([segmentName('audit.jsonl', 0), segmentName('audit.jsonl', 6)]);
    expect(records(join(dir, segmentName('audit.jsonl', 6)))[0]?.seq).toBe(6);
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.firstSeq).toBe(0);
  });

  it('a restarted writer finds the first seq of an active file whose first record is longer than 4 KB', async () => {
    const path = join(dir, 'audit.jsonl');
    const first = fileAuditSink({ path, enforcer, rotate: { maxBytes: 6000 } });
    for (let i = 0; i < 15; i++) first.append(decision(i));
    await first.flush(); // rotated: segment 0 holds seq 0..15
    first.append(decision(15, `/users/${'y'.repeat(4500)}`)); // seq 16, first of the new active file
    await first.close(); // + writer_stop (seq 17), still below 6000 bytes: not rotated
    expect(segmentFiles()).toEqual([segmentName('audit.jsonl', 0)]);
    expect(records(path)[0]?.seq).toBe(16);
    const oldest = fs.readFileSync(join(dir, segmentName('audit.jsonl', 0)), 'utf8');

    // A new process: the first seq must come from the file, all of its first line.
    const second = fileAuditSink({ path, enforcer, rotate: { maxBytes: 6000 } });
    for (let i = 16; i < 20; i++) second.append(decision(i));
    await second.flush(); // past 6000 bytes: rotated
    await second.close();
    expect(fs.readFileSync(join(dir, segmentName('audit.jsonl', 0)), 'utf8')).toBe(oldest);
    expect(segmentFiles()).toEqual([segmentName('audit.jsonl', 0), segmentName('audit.jsonl', 16)]);
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
  });

  it('refuses to rotate onto an existing segment name: the sink fails closed, nothing is replaced', async () => {
    const path = join(dir, 'audit.jsonl');
    // A file already sits where the next segment would go (seq 0: the active file's first record).
    const sink = fileAuditSink({ path, enforcer, rotate: { maxBytes: 2000 }, retryMs: 60_000 });
    const squatter = join(dir, segmentName('audit.jsonl', 0));
    fs.writeFileSync(squatter, 'keep me\n');
    for (let i = 0; i < 5; i++) sink.append(decision(i));
    await expect(sink.flush()).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(sink.healthy).toBe(false);
    expect(() => sink.append(decision(9))).toThrow(/cannot be written/);
    expect(fs.readFileSync(squatter, 'utf8')).toBe('keep me\n');
    // The records are still in the active file.
    expect(records(path).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    await sink.close().catch(() => {});
  });

  it('finishes a rotation a crash interrupted (file linked to its segment name, not yet unlinked)', async () => {
    const path = join(dir, 'audit.jsonl');
    const first = fileAuditSink({ path, enforcer });
    for (let i = 0; i < 3; i++) first.append(decision(i));
    await first.close();
    fs.linkSync(path, join(dir, segmentName('audit.jsonl', 0))); // the crash came right after link()
    const second = fileAuditSink({ path, enforcer });
    await second.close();
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]); // no record read twice
    expect(report.lastSeq).toBe(6);
  });
});

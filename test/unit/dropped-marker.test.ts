import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { type AuditRecord, fileAuditSink } from '../../src/index.js';

// A fail-open purpose whose record the log refused (queue full) leaves a visible hole marker.
const outcome = (n: number) =>
  ({ type: 'outcome', requestId: `r${n}`, purpose: 'p', status: 200, durationMs: 1 }) as const;

describe('dropped markers in the file sink', () => {
  it('writes one as soon as a full queue has room again, before the next record', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipl-drop-')), 'audit.jsonl');
    const sink = fileAuditSink({ path, maxQueueRecords: 1 });
    sink.append(outcome(1));
    expect(() => sink.append(outcome(2))).toThrow(expect.objectContaining({ code: 'audit_unavailable' }));
    sink.noteDropped('refused'); // what the guard does for a fail-open decision
    sink.noteDropped('outcome_refused');
    await sink.flush();
    sink.append(outcome(3));
    await sink.close();

    const records = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(records.map((r) => r.type)).toEqual([
      'writer_start',
      'outcome',
      'dropped',
      'outcome',
      'writer_stop',
    ]);
    expect(records[2]).toMatchObject({ type: 'dropped', count: 1, outcomes: 1, cause: 'refused' });
    const report = await verifyAuditTrail(path);
    expect(report.valid).toBe(true);
    expect(report.notices).toContainEqual(
      expect.stringMatching(/1 decisions and 1 outcomes were not recorded/),
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { aggregateReport } from '../../src/report/aggregate.js';

async function* records(list: Record<string, unknown>[]): AsyncGenerator<AuditRecord> {
  for (const [seq, fields] of list.entries())
    yield {
      type: 'decision',
      time: '2026-11-01T00:00:00.000Z',
      chain: 'c',
      seq,
      purpose: 'p',
      categories: ['contact'],
      operation: 'use',
      decision: 'allow',
      reason: 'lawful_basis',
      subject: null,
      consent: null,
      ...fields,
    } as unknown as AuditRecord;
}

describe('aggregateReport', () => {
  it("counts children's decisions: guardian consent, guardian or age-band refusals", async () => {
    const data = await aggregateReport(
      records([
        { consent: { id: 'c', noticeVersion: 1, type: 'guardian' } },
        { consent: { id: 'c', noticeVersion: 1, guardian: 'hmac-sha256:x' } },
        { decision: 'deny', reason: 'guardian_consent_required' },
        { decision: 'deny', reason: 'age_band_mismatch' },
        { decision: 'deny', reason: 'consent_missing' },
      ]),
    );
    expect(data.minors).toEqual({ allow: 2, deny: 2 });
  });

  it('counts a provision or transfer without recipient or destination under "none recorded"', async () => {
    const data = await aggregateReport(
      records([
        { operation: 'provide' },
        { operation: 'provide', recipient: { name: 'AdCo', role: 'handler' } },
        { operation: 'cross_border', subject: 's1' },
        { operation: 'cross_border', subject: 's1', transfer: { country: 'SG', recipient: 'R' } },
        { operation: 'cross_border', subject: 's2', crossBorder: { country: 'SG', recipient: 'R' } },
        {
          operation: 'cross_border',
          subject: 's3',
          decision: 'deny',
          crossBorder: { country: 'SG', recipient: 'R' },
        },
      ]),
    );
    expect(data.provisions).toEqual({ 'none recorded (provide)': 1, 'AdCo (provide)': 1 });
    expect(data.transfers).toEqual({ 'none recorded · none recorded': 1, 'SG · R': 3 });
    // Distinct subjects count allowed transfers only.
    expect(data.transferSubjects).toEqual([
      { year: '2026', country: 'SG', recipient: 'R', subjects: 2 },
      { year: '2026', country: 'none recorded', recipient: 'none recorded', subjects: 1 },
    ]);
  });
});

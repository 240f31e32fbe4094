import { describe, expect, it } from 'vitest';
import { type AuditQuery, queryAudit } from '../../src/audit/query.js';
import type { AuditLine } from '../../src/audit/reader.js';

/** Decision records (shape only: query does not check the chain) with the given reasons. */
async function* lines(reasons: string[]): AsyncGenerator<AuditLine> {
  for (const [seq, reason] of reasons.entries()) {
    const record = {
      v: 1,
      id: `id-${seq}`,
      time: '2026-11-01T00:00:00.000Z',
      chain: 'c',
      seq,
      prev: 'p',
      hash: 'h',
      type: 'decision',
      requestId: `r${seq}`,
      actor: null,
      subject: null,
      method: 'GET',
      route: '/x',
      purpose: 'p',
      categories: ['medical_health'],
      operation: 'use',
      basis: 'consent',
      consent: null,
      decision: 'deny',
      reason,
      status: 403,
      enforcer: { service: 's', instance: 'i', version: 'v' },
    };
    yield { text: JSON.stringify(record), file: 'mem', line: seq + 1, torn: false };
  }
}

async function reasonsFound(query: AuditQuery, reasons: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const record of queryAudit(lines(reasons), query))
    found.push((record as { reason: string }).reason);
  return found;
}

describe('queryAudit --reason with the deprecated separate_consent_required', () => {
  const logged = [
    'separate_consent_required', // an old record, written before the split
    'sensitive_separate_consent_required',
    'provision_separate_consent_required',
    'disclosure_separate_consent_required',
    'cross_border_separate_consent_required',
    'consent_required',
  ];

  it('finds old records and every code it was split into, nothing else', async () => {
    expect(await reasonsFound({ reason: 'separate_consent_required' }, logged)).toEqual(logged.slice(0, 5));
  });

  it('a new code finds only itself', async () => {
    expect(await reasonsFound({ reason: 'provision_separate_consent_required' }, logged)).toEqual([
      'provision_separate_consent_required',
    ]);
  });
});

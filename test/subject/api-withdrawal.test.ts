/**
 * `pipl.withdraw()` is the application's way to withdraw a consent (Art. 15): a support desk, a
 * consent service's webhook. A withdrawal an auditor cannot see is one the handler cannot account
 * for (Art. 9, 54): it is recorded like one made through the subject's own endpoint.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { subjectHistory } from '../../src/audit/subject-history.js';
import { type AuditRecord, fileAuditSink, memoryRevocationStore } from '../../src/index.js';
import { pseudonym } from '../support/assertions.js';
import { AUDIT_KEY, guardOptions, makeKeys } from '../support/fixture.js';

const keys = await makeKeys();

function withdrawals(records: readonly unknown[]) {
  return (records as readonly AuditRecord[]).filter((record) => record.type === 'consent_withdrawal');
}

describe('pipl.withdraw() is audited', () => {
  it('records the withdrawal, durable, with neither subject nor actor when none is named', async () => {
    const s = guardOptions(keys);
    await s.guard.withdraw('c-1');
    expect(await s.revocations.isRevoked('c-1')).toBe(true);
    const [record, ...more] = withdrawals(s.audit.records);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      type: 'consent_withdrawal',
      scope: 'consent',
      consentId: 'c-1',
      result: 'done',
      actor: null,
      subject: null,
      via: 'api',
    });
    // No HTTP request answered it, so no HTTP status is claimed.
    expect(record).not.toHaveProperty('status');
    expect(record?.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('names the subject and who acted, pseudonymised, and shows in the subject history (Art. 45)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipl-api-withdrawal-')), 'audit.jsonl');
    const s = guardOptions(keys, { audit: { sink: fileAuditSink({ path }), subjectKey: AUDIT_KEY } });
    await s.guard.withdraw('c-2', undefined, {
      subject: 'user-9',
      actor: { id: 'support-7', type: 'operator' },
    });
    await s.guard.close();
    const history = await subjectHistory(path, 'user-9', { key: AUDIT_KEY });
    expect(history.changes.map((change) => [change.type, change.result, change.text])).toEqual([
      ['consent_withdrawal', 'done', 'withdrew consent c-2'],
    ]);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(path, 'utf8');
    expect(text).toContain(pseudonym('user-9'));
    expect(text).toContain(pseudonym('support-7'));
    expect(text).not.toContain('user-9');
    expect(text).not.toContain('support-7');
  });

  it('a store that fails: the call rejects with its error, and the failed attempt is recorded', async () => {
    const store = memoryRevocationStore();
    const s = guardOptions(keys, {
      revocations: {
        isRevoked: store.isRevoked,
        revoke: () => Promise.reject(new Error('redis: connection refused')),
      },
    });
    await expect(s.guard.withdraw('c-3')).rejects.toThrow('connection refused');
    expect(withdrawals(s.audit.records)).toEqual([
      expect.objectContaining({
        consentId: 'c-3',
        result: 'failed',
        reason: 'revocation_unavailable',
      }),
    ]);
  });

  it('an audit log that cannot take the record: the withdrawal still applies, the call rejects with audit_unavailable', async () => {
    const s = guardOptions(keys);
    await s.audit.close();
    await expect(s.guard.withdraw('c-4')).rejects.toMatchObject({ code: 'audit_unavailable', status: 503 });
    // Protecting the subject comes first: the consent is withdrawn whatever the log says.
    expect(await s.revocations.isRevoked('c-4')).toBe(true);
  });

  it('an until in the past is refused before anything happens: nothing withdrawn, nothing recorded', async () => {
    const s = guardOptions(keys);
    await expect(s.guard.withdraw('c-5', Math.floor(Date.now() / 1000) - 60)).rejects.toThrow(RangeError);
    expect(await s.revocations.isRevoked('c-5')).toBe(false);
    expect(withdrawals(s.audit.records)).toEqual([]);
  });
});

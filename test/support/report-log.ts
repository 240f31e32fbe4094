import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { vi } from 'vitest';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { type DecisionEvent, fileAuditSink } from '../../src/index.js';

/**
 * Two instance logs in `dir` over five days (2026-11-01..05 UTC), signed checkpoints, and records in
 * the shapes issues 8 and 9 add: `recipient` as an object or a string, `transfer` or `crossBorder`,
 * guardian consent, withdrawals and opt-outs; some provisions and transfers carry no recipient at all.
 */
export async function writeReportLogs(dir: string): Promise<{ jwks: string }> {
  const pseudonymize = createPseudonymizer('report-test-audit-key-0123456789abcdef');
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwks = join(dir, 'jwks.json');
  writeFileSync(
    jwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'cp-r', alg: 'EdDSA' }] }),
  );
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    for (const instance of ['api-1', 'api-2']) {
      vi.setSystemTime(new Date('2026-11-01T01:00:00Z'));
      const enforcer = { service: 'shop', instance, version: '0.0.0' };
      const sink = fileAuditSink({
        path: join(dir, `${instance}.jsonl`),
        chain: instance,
        checkpoint: { key: privateKey, kid: 'cp-r', everyRecords: 10 },
        enforcer,
      });
      const base = (n: number): Omit<DecisionEvent, 'purpose' | 'categories' | 'operation' | 'basis'> => ({
        type: 'decision',
        requestId: `${instance}-${n}`,
        actor: { id: 'clerk-1' },
        subject: pseudonymize(`u${n % 7}`),
        method: 'GET',
        route: '/r',
        consent: null,
        decision: 'allow',
        reason: 'lawful_basis',
        status: 200,
        enforcer,
      });
      let n = 0;
      for (let day = 1; day <= 5; day++) {
        vi.setSystemTime(new Date(`2026-11-0${day}T0${day}:00:00Z`));
        for (let i = 0; i < day + 2; i++) {
          n++;
          sink.append({
            ...base(n),
            purpose: 'order.fulfilment',
            categories: ['contact'],
            operation: 'use',
            basis: 'contract',
          });
        }
        const denied = day % 2 === 1;
        sink.append({
          ...base(++n),
          purpose: 'health.records',
          categories: ['medical_health'],
          operation: 'use',
          basis: 'consent',
          consent: denied ? null : { id: `c-${n}`, noticeVersion: 3, type: 'separate' },
          decision: denied ? 'deny' : 'allow',
          reason: denied ? 'consent_missing' : 'consent_valid',
          status: denied ? 403 : 200,
        } as DecisionEvent);
        // A child's record (Art. 31): guardian consent.
        sink.append({
          ...base(++n),
          purpose: 'kids.learning',
          categories: ['identity_basic'],
          operation: 'use',
          basis: 'consent',
          consent: { id: `g-${n}`, noticeVersion: 3, type: 'guardian' },
          reason: 'consent_valid',
        } as DecisionEvent);
        if (day === 2)
          sink.append({
            ...base(++n),
            purpose: 'kids.learning',
            categories: ['identity_basic'],
            operation: 'use',
            basis: 'consent',
            decision: 'deny',
            reason: 'guardian_consent_required',
            status: 403,
          } as DecisionEvent);
        // Provision (issue 9 shape: recipient string), entrustment (issue 8 shape: recipient object).
        sink.append({
          ...base(++n),
          purpose: 'partner.share',
          categories: ['contact'],
          operation: 'provide',
          basis: 'consent',
          recipient: 'AdCo',
        } as unknown as DecisionEvent);
        sink.append({
          ...base(++n),
          purpose: 'hosting',
          categories: ['contact'],
          operation: 'entrust',
          basis: 'contract',
          recipient: { name: 'CloudCo', role: 'processor', contractRef: 'DPA-7' },
        } as unknown as DecisionEvent);
        // Cross-border: issue 8 `transfer`, issue 9 `crossBorder`, and one that names nothing.
        sink.append({
          ...base(++n),
          purpose: 'health.abroad',
          categories: ['medical_health'],
          operation: 'cross_border',
          basis: 'consent',
          transfer: {
            country: 'SG',
            recipient: 'Acme Health SG',
            mechanism: 'standard_contract',
            reference: 'SC-1',
            sensitive: true,
          },
        } as unknown as DecisionEvent);
        sink.append({
          ...base(++n),
          purpose: 'support.global',
          categories: ['contact'],
          operation: 'cross_border',
          basis: 'consent',
          crossBorder: { country: 'DE', recipient: 'HelpDesk GmbH' },
        } as unknown as DecisionEvent);
        if (day === 3) {
          sink.append({
            ...base(++n),
            purpose: 'legacy.export',
            categories: ['contact'],
            operation: 'cross_border',
            basis: 'consent',
          } as DecisionEvent);
          sink.append({
            ...base(++n),
            purpose: 'legacy.share',
            categories: ['contact'],
            operation: 'provide',
            basis: 'consent',
          } as DecisionEvent);
        }
        // Subject events (issue 9): a withdrawal and an opt-out.
        sink.append({
          type: 'consent_withdrawal',
          requestId: `${instance}-w${day}`,
          actor: null,
          subject: pseudonymize(`u${day}`),
          result: day === 4 ? 'failed' : 'done',
          status: day === 4 ? 503 : 200,
          enforcer,
          scope: day % 2 ? 'purpose' : 'all',
          purpose: 'health.records',
        } as never);
        sink.append({
          type: 'preference_change',
          requestId: `${instance}-p${day}`,
          actor: null,
          subject: pseudonymize(`u${day}`),
          result: 'done',
          status: 200,
          enforcer,
          kind: 'marketing',
          optedOut: day !== 5,
        } as never);
      }
      await sink.close();
    }
  } finally {
    vi.useRealTimers();
  }
  return { jwks };
}

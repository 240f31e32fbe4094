import { describe, expect, it } from 'vitest';
import { memoryAuditSink } from '../../src/audit/memory-sink.js';
import type { DecisionEvent } from '../../src/audit/record.js';
import { subjectKeyId } from '../../src/audit/subject-key-id.js';
import { createPiplGuard } from '../../src/guard/guard.js';
import { definePolicy } from '../../src/policy/define-policy.js';

const KEY = 'subject-key-id-test-key-0123456789abcdef';
const policy = definePolicy({
  notice: { id: 'n', version: 1 },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    },
  },
});

describe('subjectKeyId', () => {
  it('is a short public fingerprint that differs between keys and reveals neither key nor pseudonyms', () => {
    expect(subjectKeyId(KEY)).toMatch(/^k1:[\w-]{16}$/);
    expect(subjectKeyId(KEY)).toBe(subjectKeyId(Buffer.from(KEY)));
    expect(subjectKeyId(KEY)).not.toBe(subjectKeyId(`${KEY}x`));
    expect(subjectKeyId(KEY)).not.toContain(KEY.slice(0, 8));
  });

  it('is stamped by the guard on every decision it records', async () => {
    const sink = memoryAuditSink();
    const pipl = createPiplGuard({ policy, audit: { sink, subjectKey: KEY } });
    const outcome = await pipl.check(pipl.requirement('order.fulfilment', { operation: 'use' }), {
      method: 'GET',
      route: '/orders/:id',
      header: () => undefined,
      subjectId: 'u42',
      subjectDeclared: true,
      actor: null,
    });
    expect(outcome.decision.effect).toBe('allow');
    const decision = sink.records.find((r) => r.type === 'decision') as DecisionEvent | undefined;
    expect(decision?.enforcer.subjectKeyId).toBe(subjectKeyId(KEY));
    await pipl.close();
  });
});

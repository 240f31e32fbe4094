import { describe, expect, it } from 'vitest';
import { OCSF_ACTIVITY_BY_OPERATION, OCSF_API_ACTIVITIES, toOcsf } from '../../src/audit/export.js';
import type { AuditRecord, DecisionEvent } from '../../src/audit/record.js';
import { OPERATIONS } from '../../src/taxonomy/taxonomy.js';

// OCSF 1.3 API Activity (class_uid 6003): activity_id is 0 Unknown, 1 Create, 2 Read, 3 Update,
// 4 Delete, 99 Other; type_uid = class_uid * 100 + activity_id.
const SCHEMA_6003 = { 0: 'Unknown', 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' };
const EXPECTED: Record<string, number> = {
  collect: 1,
  store: 1,
  use: 2,
  process: 3,
  transmit: 2,
  provide: 2,
  disclose: 2,
  delete: 4,
  cross_border: 2,
  entrust: 2,
};

function record(operation: string): AuditRecord & DecisionEvent {
  return {
    v: 1,
    id: '0190-x',
    time: '2026-11-01T00:00:00.000Z',
    chain: 'c',
    seq: 0,
    prev: 'p',
    hash: 'h',
    type: 'decision',
    requestId: 'r',
    actor: null,
    subject: null,
    method: 'GET',
    route: '/x',
    purpose: 'p',
    categories: ['contact'],
    operation: operation as DecisionEvent['operation'],
    basis: 'contract',
    consent: null,
    decision: 'allow',
    reason: 'lawful_basis',
    status: 200,
    enforcer: { service: 's', instance: 'i', version: 'v' },
  };
}

describe('OCSF API Activity mapping', () => {
  it('the activity table is the 6003 schema enum', () => {
    expect(OCSF_API_ACTIVITIES).toEqual(SCHEMA_6003);
  });

  it.each(OPERATIONS.map((operation) => [operation]))(
    'maps %s to a 6003 activity that is not Other',
    (operation) => {
      const event = toOcsf(record(operation));
      const id = event.activity_id as keyof typeof SCHEMA_6003;
      expect(Object.keys(SCHEMA_6003).map(Number)).toContain(id);
      expect(id).not.toBe(99);
      expect(id).toBe(EXPECTED[operation]);
      expect(event.activity_name).toBe(SCHEMA_6003[id]);
      expect(event.type_uid).toBe(600300 + id);
      expect(event.api).toMatchObject({ operation });
    },
  );

  it('maps entrust (Art. 21) to Read as well', () => {
    expect(OCSF_ACTIVITY_BY_OPERATION.entrust).toBe(2);
  });

  it('an operation it does not know (a crafted record) is Other, never a prototype member', () => {
    expect(toOcsf(record('toString'))).toMatchObject({
      activity_id: 99,
      activity_name: 'Other',
      type_uid: 600399,
    });
  });
});

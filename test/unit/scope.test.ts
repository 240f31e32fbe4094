import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileScope, filterByScope, pii, schemaCategories } from '../../src/index.js';

const Order = z.object({
  id: z.string(),
  address: pii(z.string(), 'contact'),
  items: z.array(
    z.object({ sku: z.string(), prescription: z.string().meta({ pii: 'medical_health' }).optional() }),
  ),
});
const Profile = z.object({
  id: z.string(),
  name: z.string().meta({ pii: 'identity_basic' }),
  contact: pii(z.object({ phone: z.string(), email: z.string().nullable() }), 'contact'),
  orders: z.array(Order),
  tags: z.record(z.string(), z.string().meta({ pii: 'behavior' })),
  note: z.union([z.string(), z.object({ text: z.string().meta({ pii: 'content_comms' }) })]).optional(),
});

const body = {
  id: 'u1',
  name: 'Li Lei',
  contact: { phone: '138', email: null },
  orders: [{ id: 'o1', address: 'Beijing', items: [{ sku: 's1', prescription: 'rx' }, { sku: 's2' }] }],
  tags: { segment: 'vip' },
  note: { text: 'hello' },
  secret: 'not in the schema',
};

describe('schema-driven minimum scope (Art. 5-6)', () => {
  it('derives a route’s categories from the schema, nested objects, arrays, records and unions included', () => {
    expect([...schemaCategories(Profile)].sort()).toEqual(
      ['behavior', 'contact', 'content_comms', 'identity_basic', 'medical_health'].sort(),
    );
  });

  it('removes fields of uncovered categories at any depth and lists their paths', () => {
    const { value, withheld } = filterByScope(
      body,
      compileScope(Profile),
      new Set(['identity_basic', 'contact']),
    );
    expect(value).toEqual({
      id: 'u1',
      name: 'Li Lei',
      contact: { phone: '138', email: null },
      orders: [{ id: 'o1', address: 'Beijing', items: [{ sku: 's1' }, { sku: 's2' }] }],
      tags: {},
      note: {},
    });
    expect(withheld).toEqual(['/orders/0/items/0/prescription', '/tags/segment', '/note/text', '/secret']);
    expect(body.orders[0]?.items[0]).toHaveProperty('prescription', 'rx'); // input untouched
  });

  it('withholds every PI field when nothing is covered (a degraded decision)', () => {
    const { value } = filterByScope(body, compileScope(Profile), new Set());
    expect(value).toEqual({
      id: 'u1',
      orders: [{ id: 'o1', items: [{ sku: 's1' }, { sku: 's2' }] }],
      tags: {},
      note: {},
    });
  });

  it('keeps everything a loose object does not name only when the schema says so', () => {
    const loose = z.looseObject({ name: z.string().meta({ pii: 'identity_basic' }) });
    expect(filterByScope({ name: 'x', extra: 1 }, compileScope(loose), new Set()).value).toEqual({
      extra: 1,
    });
    const strict = z.object({ name: z.string().meta({ pii: 'identity_basic' }) });
    expect(
      filterByScope({ name: 'x', extra: 1 }, compileScope(strict), new Set(['identity_basic'])).withheld,
    ).toEqual(['/extra']);
  });

  it('filters an array body, and nulls a withheld element so indices keep their meaning', () => {
    const list = z.array(z.union([pii(z.string(), 'contact'), z.number()]));
    const { value, withheld } = filterByScope(['a', 2], compileScope(list), new Set());
    expect(withheld).toEqual(['/0', '/1']);
    expect(value).toEqual([null, null]);
    expect(filterByScope(['a', 2], compileScope(list), new Set(['contact'])).value).toEqual(['a', 2]);
  });
});

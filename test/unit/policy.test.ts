import { describe, expect, expectTypeOf, it } from 'vitest';
import { PiplConfigError } from '../../src/errors/errors.js';
import {
  definePolicy,
  type Policy,
  type PolicyInput,
  type Purpose,
  type PurposeInput,
} from '../../src/policy/define-policy.js';
import { compileRequirement, type RouteRequirement } from '../../src/policy/requirement.js';
import type { BuiltinCategory, CategoryDefinition } from '../../src/taxonomy/taxonomy.js';

const notice = { id: 'notice-a', version: 2 };

/** definePolicy with the type checks switched off, to reach its run-time validation. */
function loose(input: unknown) {
  return definePolicy(input as PolicyInput<string, string>);
}

function onePurpose(purpose: Partial<PurposeInput> & Record<string, unknown>, key = 'test.purpose') {
  return {
    notice,
    purposes: {
      [key]: {
        basis: 'consent',
        categories: ['contact'],
        operations: ['use'],
        necessaryForService: true,
        ...purpose,
      },
    },
  };
}

/** Runs fn, asserts a PiplConfigError, and returns its message. */
function configError(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PiplConfigError);
  const error = caught as PiplConfigError;
  expect(error.name).toBe('PiplConfigError');
  expect(error.code).toBe('config_invalid');
  return error.message;
}

describe('definePolicy: valid policies', () => {
  it('builds purposes with defaults', () => {
    const policy = definePolicy({
      notice,
      purposes: {
        'order.fulfilment': {
          basis: 'contract',
          categories: ['identity_basic', 'contact'],
          operations: ['use'],
          necessaryForService: true,
        },
      },
    });
    const purpose = policy.purposes.get('order.fulfilment');
    expect(purpose).toMatchObject({
      key: 'order.fulfilment',
      basis: 'contract',
      categories: new Set(['identity_basic', 'contact']),
      operations: new Set(['use']),
      necessaryForService: true,
      personalization: false,
      piaRef: undefined,
      onMissingConsent: 'deny',
      writtenConsent: false,
      // Art. 14(2): without changedAt, no minimum notice version (the purpose's first appearance).
      noticeVersion: 0,
      transfers: [],
      processors: new Map(),
      retention: undefined,
    });
    expect(policy.notice).toEqual(notice);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.notice)).toBe(true);
  });

  it('does not keep a reference to the input notice', () => {
    const input = { id: 'n', version: 1 };
    const policy = definePolicy({
      notice: input,
      purposes: {
        a: { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
      },
    });
    input.version = 99;
    expect(policy.notice.version).toBe(1);
  });

  it('accepts sensitive PI, PIA operations and personalisation with a piaRef', () => {
    const policy = definePolicy({
      notice,
      purposes: {
        health: {
          basis: 'consent',
          categories: ['medical_health'],
          operations: ['use'],
          necessaryForService: true,
          piaRef: 'PIA-1',
        },
        share: {
          basis: 'consent',
          categories: ['contact'],
          operations: ['provide', 'disclose', 'cross_border'],
          necessaryForService: false,
          piaRef: 'PIA-2',
          transfers: [
            {
              country: 'SG',
              recipient: 'Share Pte',
              mechanism: 'standard_contract',
              reference: 'SC-1',
              validFrom: '2020-01-01',
              validUntil: '2099-12-31',
            },
          ],
        },
        ads: {
          basis: 'consent',
          categories: ['behavior'],
          operations: ['use'],
          necessaryForService: false,
          personalization: true,
          onMissingConsent: 'degrade',
          piaRef: 'PIA-3',
        },
      },
    });
    expect(policy.purposes.get('ads')?.onMissingConsent).toBe('degrade');
    expect(policy.purposes.get('ads')?.personalization).toBe(true);
    expect(policy.purposes.get('health')?.piaRef).toBe('PIA-1');
  });

  it('knows the sensitivity of built-in, custom and unknown categories', () => {
    const policy = definePolicy({
      notice,
      categories: { loyalty_points: { sensitive: false }, 'user.genome': { sensitive: true } },
      purposes: {
        a: {
          basis: 'consent',
          categories: ['loyalty_points', 'user.genome'],
          operations: ['use'],
          necessaryForService: true,
          piaRef: 'PIA-1',
        },
      },
    });
    expect(policy.isSensitive('medical_health')).toBe(true);
    expect(policy.isSensitive('contact')).toBe(false);
    expect(policy.isSensitive('loyalty_points')).toBe(false);
    expect(policy.isSensitive('user.genome')).toBe(true);
    // Unknown categories count as sensitive (fail safe).
    expect(policy.isSensitive('never_declared')).toBe(true);
  });

  it('makes a custom category usable by purposes and routes', () => {
    const policy = definePolicy({
      notice,
      categories: { loyalty_points: { sensitive: false } },
      purposes: {
        'account.points': {
          basis: 'consent',
          categories: ['loyalty_points'],
          operations: ['use'],
          necessaryForService: true,
        },
      },
    });
    expect(policy.categories.get('loyalty_points')).toEqual({ sensitive: false });
    const requirement = compileRequirement(policy, 'account.points', { operation: 'use' });
    expect(requirement.categories).toEqual(['loyalty_points']);
    expect(requirement.sensitiveCategories).toEqual([]);
  });
});

describe('definePolicy: start-up errors', () => {
  it('requires piaRef for sensitive categories (Art. 55(1))', () => {
    const message = configError(() =>
      loose(onePurpose({ categories: ['medical_health'] }, 'health.records')),
    );
    expect(message).toContain('purposes.health.records');
    expect(message).toContain('sensitive');
    expect(message).toContain('piaRef');
    expect(message).toContain('Art. 55');
  });

  it('requires piaRef for sensitive categories whatever the basis', () => {
    const message = configError(() =>
      loose(onePurpose({ basis: 'contract', categories: ['biometric'] }, 'door.access')),
    );
    expect(message).toContain('purposes.door.access');
    expect(message).toContain('piaRef');
  });

  for (const operation of ['provide', 'disclose', 'cross_border'] as const) {
    it(`requires piaRef for operation "${operation}" (Art. 55)`, () => {
      const message = configError(() =>
        loose(onePurpose({ operations: ['use', operation], necessaryForService: false }, 'share.out')),
      );
      expect(message).toContain('purposes.share.out');
      expect(message).toContain(`"${operation}"`);
      expect(message).toContain('piaRef');
    });
  }

  it('requires piaRef for automated personalisation (Art. 55(2))', () => {
    const message = configError(() =>
      loose(
        onePurpose({ personalization: true, necessaryForService: false, categories: ['behavior'] }, 'ads'),
      ),
    );
    expect(message).toContain('purposes.ads');
    expect(message).toContain('personalisation');
    expect(message).toContain('piaRef');
  });

  it('rejects an unknown category and says where to declare it', () => {
    const message = configError(() =>
      loose(onePurpose({ categories: ['contact', 'shoe_size'] }, 'shop.fit')),
    );
    expect(message).toContain('purposes.shop.fit');
    expect(message).toContain('"shoe_size"');
    expect(message).toContain('policy.categories');
  });

  it('rejects an unknown category at compile time too', () => {
    expect(() =>
      definePolicy({
        notice,
        purposes: {
          a: {
            basis: 'consent',
            // @ts-expect-error: not a built-in or declared category
            categories: ['shoe_size'],
            operations: ['use'],
            necessaryForService: true,
          },
        },
      }),
    ).toThrow(PiplConfigError);
  });

  it('makes government_id need piaRef once it is overridden to sensitive', () => {
    const base = {
      notice,
      purposes: {
        'kyc.check': {
          basis: 'statutory',
          categories: ['government_id'],
          operations: ['use'],
          necessaryForService: true,
        },
      },
    } as const;
    expect(() => definePolicy(base)).not.toThrow();
    const message = configError(() =>
      definePolicy({ ...base, categories: { government_id: { sensitive: true } } }),
    );
    expect(message).toContain('purposes.kyc.check');
    expect(message).toContain('piaRef');
    const withPia = definePolicy({
      ...base,
      categories: { government_id: { sensitive: true } },
      purposes: { 'kyc.check': { ...base.purposes['kyc.check'], piaRef: 'PIA-KYC' } },
    });
    expect(withPia.isSensitive('government_id')).toBe(true);
  });

  it('rejects degrade on a non-consent basis', () => {
    const message = configError(() =>
      loose(
        onePurpose(
          { basis: 'contract', onMissingConsent: 'degrade', necessaryForService: false },
          'order.extra',
        ),
      ),
    );
    expect(message).toContain('purposes.order.extra');
    expect(message).toContain('degrade');
    expect(message).toContain('"consent"');
  });

  it('rejects degrade on a purpose necessary for the service (Art. 16)', () => {
    const message = configError(() =>
      loose(onePurpose({ onMissingConsent: 'degrade', necessaryForService: true }, 'account.core')),
    );
    expect(message).toContain('purposes.account.core');
    expect(message).toContain('necessaryForService: false');
  });

  for (const key of ['Marketing', 'marketing-personalized', 'a..b', '.a', 'a.', '1a', 'a b', '']) {
    it(`rejects the purpose key ${JSON.stringify(key)} and says what keys look like`, () => {
      const message = configError(() => loose(onePurpose({}, key)));
      expect(message).toContain('purpose keys are dotted lower_snake words');
    });
  }

  it('rejects a policy without purposes', () => {
    const message = configError(() => loose({ notice, purposes: {} }));
    expect(message).toContain('purposes');
    expect(message).toContain('declare at least one purpose');
  });

  it('rejects a purpose without necessaryForService (Art. 16)', () => {
    const message = configError(() =>
      loose({
        notice,
        purposes: { 'a.b': { basis: 'consent', categories: ['contact'], operations: ['use'] } },
      }),
    );
    expect(message).toContain('purposes.a.b.necessaryForService');
    expect(message).toContain('Art. 16');
  });

  it('rejects audit fail_open for a purpose touching sensitive PI', () => {
    const message = configError(() =>
      loose(
        onePurpose(
          { categories: ['medical_health'], piaRef: 'PIA-1', audit: { onFailure: 'fail_open' } },
          'h',
        ),
      ),
    );
    expect(message).toContain('purposes.h');
    expect(message).toContain('fail_open');
  });

  it('rejects a misspelt option instead of ignoring it', () => {
    const message = configError(() => loose(onePurpose({ piaref: 'PIA-1', categories: ['medical_health'] })));
    expect(message).toContain('piaref');
  });

  it('rejects empty categories and operations, unknown bases and operations', () => {
    expect(configError(() => loose(onePurpose({ categories: [] })))).toContain('name at least one category');
    expect(configError(() => loose(onePurpose({ operations: [] })))).toContain('name at least one operation');
    expect(configError(() => loose(onePurpose({ basis: 'legitimate_interest' as never })))).toContain(
      'test.purpose.basis',
    );
    expect(configError(() => loose(onePurpose({ operations: ['sell' as never] })))).toContain(
      'test.purpose.operations',
    );
  });

  it('rejects a bad notice', () => {
    expect(configError(() => loose({ ...onePurpose({}), notice: { id: '', version: 1 } }))).toContain(
      'notice.id',
    );
    expect(configError(() => loose({ ...onePurpose({}), notice: { id: 'n', version: -1 } }))).toContain(
      'notice.version',
    );
  });

  it('rejects a bad category key and says what keys look like', () => {
    const message = configError(() =>
      loose({ ...onePurpose({}), categories: { 'Shoe Size': { sensitive: false } } }),
    );
    expect(message).toContain('category keys are lower_snake');
  });

  it('reports every problem at once', () => {
    const message = configError(() =>
      loose({
        notice,
        purposes: {
          'health.records': {
            basis: 'consent',
            categories: ['medical_health'],
            operations: ['use'],
            necessaryForService: true,
          },
          'order.extra': {
            basis: 'contract',
            categories: ['contact'],
            operations: ['use'],
            necessaryForService: true,
            onMissingConsent: 'degrade',
          },
        },
      }),
    );
    expect(message).toContain('purposes.health.records');
    expect(message).toContain('purposes.order.extra');
    expect(message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(3);
  });
});

describe('compileRequirement', () => {
  const policy = definePolicy({
    notice,
    categories: { loyalty_points: { sensitive: false } },
    purposes: {
      'account.profile': {
        basis: 'consent',
        categories: ['identity_basic', 'contact', 'medical_health'],
        operations: ['use', 'store'],
        necessaryForService: true,
        piaRef: 'PIA-1',
      },
      'partner.delivery': {
        basis: 'consent',
        categories: ['contact'],
        operations: ['provide'],
        necessaryForService: false,
        piaRef: 'PIA-2',
      },
      'support.overseas': {
        basis: 'consent',
        categories: ['contact'],
        operations: ['cross_border'],
        necessaryForService: false,
        piaRef: 'PIA-3',
        transfers: [
          {
            country: 'SG',
            recipient: 'Support Pte',
            mechanism: 'standard_contract',
            reference: 'SC-1',
            validFrom: '2020-01-01',
            validUntil: '2099-12-31',
          },
        ],
      },
    },
  });
  const compile = (purpose: string, route: RouteRequirement) => compileRequirement(policy, purpose, route);

  it('compiles a route, defaulting to every category of the purpose', () => {
    const requirement = compile('account.profile', { operation: 'use', route: '/profile' });
    expect(requirement.purpose).toBe(policy.purposes.get('account.profile'));
    expect(requirement.operation).toBe('use');
    expect(requirement.categories).toEqual(['identity_basic', 'contact', 'medical_health']);
    expect(requirement.sensitiveCategories).toEqual(['medical_health']);
    expect(requirement.route).toBe('/profile');
    expect(requirement.recipient).toBeUndefined();
    expect(requirement.crossBorder).toBeUndefined();
    expect(Object.isFrozen(requirement)).toBe(true);
    expect(Object.isFrozen(requirement.categories)).toBe(true);
  });

  it('keeps a subset of categories, without duplicates', () => {
    const requirement = compile('account.profile', {
      operation: 'store',
      categories: ['contact', 'contact'],
    });
    expect(requirement.categories).toEqual(['contact']);
    expect(requirement.sensitiveCategories).toEqual([]);
  });

  it('copies crossBorder so later edits of the route do not leak in', () => {
    const mutable: RouteRequirement = {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Support Pte' },
    };
    const requirement = compile('support.overseas', mutable);
    if (mutable.crossBorder) mutable.crossBorder.country = 'US';
    expect(requirement.crossBorder).toEqual({ country: 'SG', recipient: 'Support Pte' });
  });

  it('rejects an unknown purpose and lists the declared ones', () => {
    const message = configError(() => compile('account.profil', { operation: 'use' }));
    expect(message).toContain('"account.profil"');
    expect(message).toContain('unknown purpose');
    expect(message).toContain('account.profile, partner.delivery, support.overseas');
  });

  it('rejects an operation not declared on the purpose', () => {
    const message = configError(() => compile('account.profile', { operation: 'delete' }));
    expect(message).toContain('"account.profile"');
    expect(message).toContain('"delete"');
    expect(message).toContain('declared: use, store');
  });

  it('rejects a category that exists but is not declared on the purpose (Art. 6)', () => {
    const message = configError(() =>
      compile('account.profile', { operation: 'use', categories: ['loyalty_points'] }),
    );
    expect(message).toContain('"loyalty_points"');
    expect(message).toContain('not declared on the purpose');
  });

  it('rejects an unknown category', () => {
    const message = configError(() =>
      compile('account.profile', { operation: 'use', categories: ['shoe_size'] }),
    );
    expect(message).toContain('unknown category "shoe_size"');
  });

  it('rejects an empty category list', () => {
    expect(configError(() => compile('account.profile', { operation: 'use', categories: [] }))).toContain(
      'name at least one category',
    );
  });

  it('rejects provide without a recipient (Art. 23)', () => {
    for (const route of [{ operation: 'provide' }, { operation: 'provide', recipient: '' }] as const) {
      const message = configError(() => compile('partner.delivery', route));
      expect(message).toContain('"partner.delivery"');
      expect(message).toContain('recipient');
      expect(message).toContain('Art. 23');
    }
    expect(compile('partner.delivery', { operation: 'provide', recipient: 'Courier Co' }).recipient).toBe(
      'Courier Co',
    );
  });

  it('rejects cross_border without a valid country and recipient (Art. 38-39)', () => {
    const bad: RouteRequirement['crossBorder'][] = [
      undefined,
      { country: '', recipient: 'Support Pte' },
      { country: 'sg', recipient: 'Support Pte' },
      { country: 'Sg', recipient: 'Support Pte' },
      { country: 'SGP', recipient: 'Support Pte' },
      { country: 'S', recipient: 'Support Pte' },
      { country: 'SG', recipient: '' },
      { country: 'SG' } as never,
    ];
    for (const crossBorder of bad) {
      const route: RouteRequirement = crossBorder
        ? { operation: 'cross_border', crossBorder }
        : { operation: 'cross_border' };
      const message = configError(() => compile('support.overseas', route));
      expect(message).toContain('"support.overseas"');
      expect(message).toContain('crossBorder');
      expect(message).toContain('Art. 38');
    }
    const ok = compile('support.overseas', {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Support Pte' },
    });
    expect(ok.crossBorder).toEqual({ country: 'SG', recipient: 'Support Pte' });
  });
});

describe('types', () => {
  it('infers purpose keys as literal types', () => {
    const policy = definePolicy({
      notice,
      categories: { loyalty_points: { sensitive: false } },
      purposes: {
        'a.b': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
        c: {
          basis: 'consent',
          categories: ['loyalty_points'],
          operations: ['use'],
          necessaryForService: true,
        },
      },
    });
    expectTypeOf(policy.purposes).toEqualTypeOf<ReadonlyMap<'a.b' | 'c', Purpose>>();
    expectTypeOf(policy).toEqualTypeOf<Policy<'a.b' | 'c', 'loyalty_points'>>();
    expectTypeOf(policy.categories).toEqualTypeOf<
      ReadonlyMap<BuiltinCategory | 'loyalty_points', CategoryDefinition>
    >();
    expectTypeOf<'a.b'>().toMatchTypeOf<Parameters<typeof policy.purposes.get>[0]>();
    expectTypeOf<'other'>().not.toMatchTypeOf<Parameters<typeof policy.purposes.get>[0]>();
    // A typed policy is still usable where any policy is expected.
    expectTypeOf(policy).toMatchTypeOf<Policy>();
    expect([...policy.purposes.keys()]).toEqual(['a.b', 'c']);
  });

  it('infers never for custom categories when there are none', () => {
    const policy = definePolicy({
      notice,
      purposes: {
        x: { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
      },
    });
    expectTypeOf(policy).toEqualTypeOf<Policy<'x', never>>();
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type DecisionEvent,
  definePolicy,
  type Grant,
  type Policy,
  type PolicyInput,
  REASON_ARTICLES,
  type ReasonCode,
  type RouteRequirement,
  type TransferInput,
} from '../src/index.js';

// Type-level tests of the law-facing API: they fail at `npm run typecheck`, not at run time.
describe('law API types', () => {
  it('types transfer mechanisms and exemptions as closed unions', () => {
    expectTypeOf<TransferInput['mechanism']>().toEqualTypeOf<
      'security_assessment' | 'certification' | 'standard_contract' | 'exemption'
    >();
    expectTypeOf<NonNullable<TransferInput['exemption']>>().toEqualTypeOf<
      | 'transit_processing'
      | 'contract_necessity'
      | 'hr_management'
      | 'emergency'
      | 'below_threshold'
      | 'ftz_negative_list'
    >();
    // @ts-expect-error the token-era "other" is no mechanism a company can declare
    const other: TransferInput['mechanism'] = 'other';
    expect(other).toBe('other');
  });

  it('keeps the token mechanism optional and untyped (ignored), and the guardian method an enum', () => {
    expectTypeOf<NonNullable<Grant['crossBorder']>['mechanism']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<PolicyInput['purposes'][string]['processors']>().toEqualTypeOf<
      readonly { name: string; contractRef: string }[] | undefined
    >();
  });

  it('exposes digest, text and warnings on a policy, and accountability fields on records', () => {
    const policy = definePolicy({
      notice: { id: 'n', version: 1 },
      purposes: {
        p: { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
      },
    });
    expectTypeOf(policy).toExtend<Policy>();
    expectTypeOf(policy.digest).toEqualTypeOf<string>();
    expectTypeOf<DecisionEvent['recipient']>().toEqualTypeOf<
      { name: string; role: 'handler' | 'processor'; contractRef?: string } | undefined
    >();
    expectTypeOf<RouteRequirement['processor']>().toEqualTypeOf<string | undefined>();
    expectTypeOf(REASON_ARTICLES).toEqualTypeOf<{ readonly [K in ReasonCode]: string }>();
    expect(policy.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

import type { Request } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import type { subjectRoutes } from '../../src/adapters/express/index.js';
import type {
  OptOutKind,
  RightsRequest,
  RouteRequirement,
  SubjectRecord,
  SubjectRoutesOptions,
} from '../../src/index.js';

describe('public types of the data subject side', () => {
  it('names the rights and opt-outs as literal unions', () => {
    expectTypeOf<RightsRequest>().toEqualTypeOf<
      'access' | 'copy' | 'portability' | 'correction' | 'deletion' | 'explanation'
    >();
    expectTypeOf<OptOutKind>().toEqualTypeOf<'personalization' | 'marketing'>();
    expectTypeOf<RouteRequirement['rightsRequest']>().toEqualTypeOf<RightsRequest | undefined>();
    expectTypeOf<SubjectRecord['optedOut']>().toEqualTypeOf<{
      readonly personalization: boolean;
      readonly marketing: boolean;
    }>();
  });

  it('types authenticate with the framework request', () => {
    expectTypeOf<Parameters<typeof subjectRoutes>[1]>().toEqualTypeOf<SubjectRoutesOptions<Request>>();
    expectTypeOf<SubjectRoutesOptions<Request>['authenticate']>().parameter(0).toEqualTypeOf<Request>();
  });
});

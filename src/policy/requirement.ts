import type { z } from 'zod';
import { PiplConfigError } from '../errors/errors.js';
import { compileScope, type ScopeNode } from '../scope/schema-scope.js';
import type { Operation } from '../taxonomy/taxonomy.js';
import type { Policy, Purpose } from './define-policy.js';
import type { Transfer } from './transfers.js';
import { warnOnce } from './warn.js';

/** What one route does with personal information: the purpose, the operation and its scope. */
export interface RouteRequirement<C extends string = string> {
  /** The operation this route performs (Art. 4). Must be declared on the purpose. */
  operation: Operation;
  /** Categories this route touches. Defaults to all of the purpose's categories. */
  categories?: readonly C[];
  /** For `provide`: the receiving personal-information handler, as the consent names it (Art. 23). */
  recipient?: string;
  /** For `cross_border`: destination country (ISO 3166-1 alpha-2) and overseas recipient (Art. 38–39). */
  crossBorder?: { country: string; recipient: string };
  /** For `entrust`: the processor, one of the purpose's `processors` (Art. 21). */
  processor?: string;
  /**
   * Art. 6 minimum scope: the response body's zod 4 schema, its fields tagged with PI categories
   * (`.meta({ pii: 'contact' })`). Fields of categories the decision did not cover are removed
   * (`uncovered: 'remove'`, default) or the response is refused with 403 `category_not_granted`
   * (`'refuse'`); the outcome record lists the withheld paths.
   */
  response?: { schema: z.ZodType; uncovered?: 'remove' | 'refuse' };
  /** Route label for the audit log when the framework cannot report the route pattern. */
  route?: string;
  /**
   * The route serves a data subject's rights request (Art. 44-48). The guard then checks that the
   * caller is the subject (or an authorised agent) instead of consent, and withdrawal never blocks it.
   */
  rightsRequest?: RightsRequest;
}

/** The rights of Art. 44-48 a route can serve. */
export const RIGHTS_REQUESTS = [
  'access',
  'copy',
  'portability',
  'correction',
  'deletion',
  'explanation',
] as const;
export type RightsRequest = (typeof RIGHTS_REQUESTS)[number];

/** A route requirement checked against the policy, with everything per-request work needs precomputed. */
export interface Requirement {
  readonly purpose: Purpose;
  readonly operation: Operation;
  readonly categories: readonly string[];
  /** Categories that are sensitive PI under the policy (before the subject's age is known). */
  readonly sensitiveCategories: readonly string[];
  readonly recipient: string | undefined;
  readonly crossBorder: { readonly country: string; readonly recipient: string } | undefined;
  /** For `cross_border`: the purpose's declared transfers to this country and recipient (Art. 38). */
  readonly transfers: readonly Transfer[];
  /** For `entrust`: the processor and its contract (Art. 21). */
  readonly processor: { readonly name: string; readonly contractRef: string } | undefined;
  /**
   * Art. 51(4): actor roles allowed to touch every category of the route (the intersection of the
   * categories' `roles`); `undefined` when no category restricts roles.
   */
  readonly roles: ReadonlySet<string> | undefined;
  /** Compiled response schema (Art. 6), when the route declared one. */
  readonly response: { readonly node: ScopeNode; readonly uncovered: 'remove' | 'refuse' } | undefined;
  readonly route: string | undefined;
  readonly rightsRequest: RightsRequest | undefined;
}

const COUNTRY = /^[A-Z]{2}$/;

/**
 * Checks a route's requirement against the policy. Called when the route is defined, so a typo is a
 * start-up error ({@link PiplConfigError}), never a runtime 500.
 */
export function compileRequirement(policy: Policy, purposeKey: string, route: RouteRequirement): Requirement {
  const where = `route requirement for purpose "${purposeKey}"`;
  const purpose = policy.purposes.get(purposeKey);
  if (!purpose) {
    const known = [...policy.purposes.keys()].join(', ');
    throw new PiplConfigError(`${where}: unknown purpose; declared purposes are: ${known}`);
  }
  if (!purpose.operations.has(route.operation)) {
    throw new PiplConfigError(
      `${where}: operation "${route.operation}" is not declared on the purpose (declared: ${[...purpose.operations].join(', ')})`,
    );
  }
  const categories = route.categories ? [...new Set(route.categories)] : [...purpose.categories];
  if (categories.length === 0) throw new PiplConfigError(`${where}: name at least one category`);
  for (const category of categories) {
    if (!policy.categories.has(category))
      throw new PiplConfigError(`${where}: unknown category "${category}"`);
    if (!purpose.categories.has(category)) {
      throw new PiplConfigError(
        `${where}: category "${category}" is not declared on the purpose (Art. 6 minimum scope)`,
      );
    }
  }
  if (route.operation === 'provide' && !route.recipient) {
    throw new PiplConfigError(`${where}: operation "provide" needs a recipient (Art. 23)`);
  }
  if (route.operation === 'cross_border') {
    if (!route.crossBorder?.recipient || !COUNTRY.test(route.crossBorder.country ?? '')) {
      throw new PiplConfigError(
        `${where}: operation "cross_border" needs crossBorder: { country: 'SG', recipient: '...' } (Art. 38–39)`,
      );
    }
  }
  let transfers: readonly Transfer[] = [];
  if (route.operation === 'cross_border' && route.crossBorder) {
    const { country, recipient } = route.crossBorder;
    transfers = purpose.transfers.filter((t) => t.country === country && t.recipient === recipient);
    // Refused per request with `transfer_not_declared`; said at start-up too, since it never passes.
    if (transfers.length === 0) {
      warnOnce(
        `${where}: no transfer to ${country} / "${recipient}" is declared on the purpose, so every request is refused (transfer_not_declared, Art. 38)`,
      );
    }
  }
  let processor: Requirement['processor'];
  if (route.operation === 'entrust') {
    processor = route.processor === undefined ? undefined : purpose.processors.get(route.processor);
    if (!processor) {
      const named = [...purpose.processors.keys()].join(', ');
      throw new PiplConfigError(
        `${where}: operation "entrust" needs processor, one of the purpose's processors with an entrustment contract (Art. 21): ${named}`,
      );
    }
  }
  let roles: Set<string> | undefined;
  for (const category of categories) {
    const allowed = policy.categories.get(category)?.roles;
    if (!allowed) continue;
    roles = roles ? new Set([...roles].filter((role) => allowed.includes(role))) : new Set(allowed);
  }
  const response = route.response
    ? Object.freeze({
        node: compileScope(route.response.schema),
        uncovered: route.response.uncovered ?? 'remove',
      })
    : undefined;
  if (route.rightsRequest !== undefined && !RIGHTS_REQUESTS.includes(route.rightsRequest)) {
    throw new PiplConfigError(`${where}: rightsRequest must be one of ${RIGHTS_REQUESTS.join(', ')}`);
  }
  return Object.freeze({
    purpose,
    operation: route.operation,
    categories: Object.freeze(categories),
    sensitiveCategories: Object.freeze(categories.filter((category) => policy.isSensitive(category))),
    recipient: route.recipient,
    crossBorder: route.crossBorder ? Object.freeze({ ...route.crossBorder }) : undefined,
    transfers,
    processor,
    roles,
    response,
    route: route.route,
    rightsRequest: route.rightsRequest,
  });
}

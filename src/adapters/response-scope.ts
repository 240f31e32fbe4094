import { PiplGuardError } from '../errors/errors.js';
import type { GuardOutcome } from '../guard/types.js';
import type { Requirement } from '../policy/requirement.js';
import { filterByScope } from '../scope/filter.js';
import { withheldPaths } from '../scope/withheld.js';

const NOTHING: ReadonlySet<string> = new Set();

/**
 * Minimises a handler's response body to the categories the decision covered (Art. 6): an `allow`
 * covers the route's categories, a `degrade` covers none (Art. 16: the handler runs without the PI).
 * Returns the body to send, or a `PiplGuardError` when the route refuses instead of removing.
 */
export function scopeResponse(
  requirement: Requirement,
  outcome: GuardOutcome,
  body: unknown,
): { body: unknown } | { error: PiplGuardError } {
  const scope = requirement.response;
  if (!scope || body === null || typeof body !== 'object' || Buffer.isBuffer(body)) return { body };
  const allowed = outcome.decision.effect === 'allow' ? new Set(outcome.decision.categories) : NOTHING;
  const result = filterByScope(body, scope.node, allowed);
  if (result.withheld.length > 0) withheldPaths.set(outcome, result.withheld);
  if (result.withheld.length > 0 && scope.uncovered === 'refuse') {
    const error = new PiplGuardError(
      'category_not_granted',
      'The response holds fields of categories this decision does not cover (Art. 6)',
    );
    error.requestId = outcome.requestId;
    return { error };
  }
  return { body: result.value };
}

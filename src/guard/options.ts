import { PiplConfigError } from '../errors/errors.js';
import { isThenable } from './deadline.js';
import type { PiplGuardOptions } from './types.js';

/**
 * The start-up checks of `createPiplGuard`'s options that need no other part built: a mistake here
 * is a `PiplConfigError` at start, never a request that fails later. Returns the time limits, defaulted.
 */
export function checkGuardOptions<P extends string, C extends string>(
  options: PiplGuardOptions<P, C>,
): { durableTimeoutMs: number; lookupTimeoutMs: number } {
  const needsConsent = [...options.policy.purposes.values()].some((purpose) => purpose.basis === 'consent');
  if (needsConsent && !options.consent) {
    throw new PiplConfigError(
      'the policy has consent-based purposes, so set `consent` (verifier options or a verifier)',
    );
  }
  if (!options.audit?.sink) throw new PiplConfigError('audit.sink is required: every decision is audited');
  if (isThenable(options.audit.sink)) {
    throw new PiplConfigError('audit.sink is a Promise: `await postgresAuditSink(…)` before createPiplGuard');
  }
  if (options.audit.subjectKey === undefined) {
    throw new PiplConfigError(
      'audit.subjectKey is required (≥ 32 bytes) to pseudonymise subject ids; `false` turns it off',
    );
  }
  const durableTimeoutMs = options.audit.durableTimeoutMs ?? 5000;
  if (!isPositiveMs(durableTimeoutMs)) {
    throw new PiplConfigError(
      'audit.durableTimeoutMs must be a positive number of milliseconds (default 5000)',
    );
  }
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 2000;
  if (!isPositiveMs(lookupTimeoutMs)) {
    throw new PiplConfigError('lookupTimeoutMs must be a positive number of milliseconds (default 2000)');
  }
  if (options.subjects && options.revocations) {
    throw new PiplConfigError(
      'give `subjects` or `revocations`, not both: the subject store also keeps withdrawn consent ids',
    );
  }
  return { durableTimeoutMs, lookupTimeoutMs };
}

function isPositiveMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

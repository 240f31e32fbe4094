import { AsyncLocalStorage } from 'node:async_hooks';
import type { PiplGuardError } from '../errors/errors.js';
import { createRefusals } from '../guard/refusal.js';
import type { MethodEntry } from './registry.js';

/**
 * Proof, carried through the request's async context, that the guard decided for this exact
 * method. `pending` until the guard allows; `spent` once the method ran or the response ended, so a
 * marker can never be reused by another call or a later request on the same connection.
 */
export interface DecisionMarker {
  /** Undefined in an empty slot (`runSlot`) until a guard claims it for its method. */
  entry: MethodEntry | undefined;
  state: 'pending' | 'allowed' | 'spent';
}

const markers = new AsyncLocalStorage<DecisionMarker>();
const refusal = createRefusals('PIPL-Consent');

/** Runs `next` (the rest of the request) with a marker for `entry`; the guard then calls `allow`. */
export function runMarked<T>(entry: MethodEntry, next: (marker: DecisionMarker) => T): T {
  const marker: DecisionMarker = { entry, state: 'pending' };
  return markers.run(marker, next, marker);
}

/**
 * For frameworks whose guard cannot wrap the handler call (NestJS `CanActivate`): enters the marker
 * for the rest of this async chain. Call it before the guard's first `await`.
 */
export function enterMarked(entry: MethodEntry): DecisionMarker {
  const slot = markers.getStore();
  if (slot && slot.entry === undefined && slot.state === 'pending') {
    slot.entry = entry;
    return slot;
  }
  const marker: DecisionMarker = { entry, state: 'pending' };
  markers.enterWith(marker);
  return marker;
}

/**
 * Runs the rest of the request with an empty marker that the first guard to decide claims
 * (`enterMarked`). For frameworks whose guards run in an async branch the handler does not inherit
 * from (Midway): a middleware around the router opens the slot.
 */
export function runSlot<T>(next: () => T): T {
  return markers.run({ entry: undefined, state: 'pending' }, next);
}

/** The refusal a method answers when it is reached without its guard (503, Retry-After). */
export function guardMissing(where: string): PiplGuardError {
  return refusal(
    'guard_unavailable',
    `${where} was reached without the pipl-guard decision for it; the request was stopped`,
  );
}

/**
 * Wraps a decorated method: it runs only when the guard allowed this request for this method,
 * and only once per decision. Otherwise it throws a 503 `guard_unavailable` PiplGuardError.
 */
export function failClosed<F extends (...args: never[]) => unknown>(original: F, entry: MethodEntry): F {
  const wrapped = {
    [entry.name](this: unknown, ...args: Parameters<F>) {
      const marker = markers.getStore();
      if (!marker || marker.entry !== entry || marker.state !== 'allowed') {
        throw guardMissing(`method ${entry.name}()`);
      }
      marker.state = 'spent';
      return original.apply(this, args);
    },
  }[entry.name] as unknown as F;
  return wrapped;
}

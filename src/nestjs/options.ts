import type { Request } from 'express';
import type { ActorResolver, PiplGuard } from '../guard/types.js';

/** Injection token of the module options. */
export const PIPL_OPTIONS = Symbol.for('pipl-guard.nestjs.options');

export interface PiplModuleOptions {
  /** The guard from `createPiplGuard()`: every decision goes through its `check()`. */
  // biome-ignore lint/suspicious/noExplicitAny: any policy's guard
  pipl: PiplGuard<any, any>;
  /**
   * Routes whose handler has neither `RequiresConsent` nor `PiplExempt`:
   * `refuse` (default, fail closed) answers 503 `guard_unavailable`; `allow` lets them through unaudited.
   */
  undeclared?: 'refuse' | 'allow';
  /**
   * Register the guard as `APP_GUARD` (default true). With `false`, put `@UseGuards(PiplNestGuard)` on
   * controllers; the problem+json filter is registered globally either way.
   */
  global?: boolean;
  /** Who makes the request, for the audit record. */
  actor?: ActorResolver<Request>;
  /** Called with unexpected errors (e.g. a requirement that fails to compile); the request fails closed. */
  onError?: (error: unknown) => void;
}

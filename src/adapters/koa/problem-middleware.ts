import type { Middleware } from 'koa';
import { isPiplGuardError } from '../../errors/errors.js';
import { sendProblem } from './guard.js';

/**
 * Koa middleware that catches `PiplGuardError`s thrown downstream (with `koaGuard(pipl, { errors:
 * 'throw' })`) and renders them as problem+json. Other errors propagate.
 *
 * @example
 * ```ts
 * app.use(piplProblems());
 * ```
 */
export function piplProblems(): Middleware {
  return async function piplProblemMiddleware(ctx, next) {
    try {
      await next();
    } catch (error) {
      if (!isPiplGuardError(error)) throw error;
      sendProblem(ctx, error, error.requestId);
    }
  };
}

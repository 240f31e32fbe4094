import type { ErrorRequestHandler } from 'express';
import { isPiplGuardError } from '../../errors/errors.js';
import { sendProblem } from './guard.js';

/**
 * Express error middleware that renders `PiplGuardError`s as problem+json and passes anything else
 * on. Use it with `expressGuard(pipl, { errors: 'next' })` when you want denials to travel through
 * your own error middleware first.
 *
 * @example
 * ```ts
 * app.use(piplProblemHandler());
 * ```
 */
export function piplProblemHandler(): ErrorRequestHandler {
  return function piplProblems(error, _req, res, next) {
    if (!isPiplGuardError(error) || res.headersSent) return next(error);
    sendProblem(res, error, error.requestId);
  };
}

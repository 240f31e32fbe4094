import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { sendProblem } from '../adapters/express/guard.js';
import { PiplGuardError } from '../errors/errors.js';

/**
 * Renders `PiplGuardError` (a denial, or a method reached without its guard) as RFC 9457
 * problem+json with its headers, exactly as `expressGuard` does. Other exceptions are not caught.
 *
 * @example
 * ```ts
 * app.useGlobalFilters(new PiplProblemFilter()); // PiplModule.forRoot registers it by default
 * ```
 */
export class PiplProblemFilter implements ExceptionFilter<PiplGuardError> {
  catch(error: PiplGuardError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    sendProblem(res, error, error.requestId);
  }
}

Catch(PiplGuardError)(PiplProblemFilter);

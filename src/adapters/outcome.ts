import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GuardOutcome, PiplGuard } from '../guard/index.js';

/** Status recorded when the client went away before the handler could run (nginx's 499). */
export const CLIENT_CLOSED = 499;

/**
 * True when the response was already answered by someone else (a timeout middleware, say) while
 * the guard was deciding: nothing more can be sent, and the handler must not run.
 */
export function alreadyAnswered(res: ServerResponse): boolean {
  return res.headersSent || res.writableEnded;
}

/**
 * Arranges for the request's outcome to be audited when its response closes. Returns false when
 * the handler should not run: another middleware already answered while the guard was deciding
 * (the outcome records the status it sent), or the client disconnected (recorded as 499).
 */
export function trackOutcome(
  pipl: PiplGuard<string, string>,
  outcome: GuardOutcome,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
): boolean {
  if (alreadyAnswered(res)) {
    pipl.recordOutcome(outcome, res.statusCode, startedAt);
    return false;
  }
  if (req.socket?.destroyed) {
    pipl.recordOutcome(outcome, CLIENT_CLOSED, startedAt);
    return false;
  }
  // `on`, not `once`: a response closes once, and `once` would add a wrapper per request.
  res.on('close', () => pipl.recordOutcome(outcome, res.statusCode, startedAt));
  return true;
}

/**
 * The adapter's own work after an `allow` failed (before the handler ran): `onError` hears why, and
 * unless the response is already tracked, the log gets the 503 the client is about to get.
 */
export function failedAfterAllow(
  pipl: PiplGuard<string, string>,
  outcome: GuardOutcome,
  tracked: boolean,
  startedAt: number,
  unexpected: unknown,
): void {
  pipl.reportError(unexpected);
  if (!tracked) pipl.recordOutcome(outcome, 503, startedAt);
}

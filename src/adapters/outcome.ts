import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GuardOutcome, PiplGuard } from '../guard/index.js';

/** Status recorded when the client went away before the handler could run (nginx's 499). */
export const CLIENT_CLOSED = 499;

/**
 * Arranges for the request's outcome to be audited when its response closes. Returns false when
 * the client disconnected while the guard was deciding: the outcome is recorded as 499 at once
 * and the handler should not run, since no one is there to answer.
 */
export function trackOutcome(
  pipl: PiplGuard<string, string>,
  outcome: GuardOutcome,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
): boolean {
  if (req.socket?.destroyed || res.writableEnded) {
    pipl.recordOutcome(outcome, CLIENT_CLOSED, startedAt);
    return false;
  }
  res.once('close', () => pipl.recordOutcome(outcome, res.statusCode, startedAt));
  return true;
}

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PiplGuard } from '../../guard/index.js';
import { jsonBody } from '../../subject/body.js';
import type { SubjectRoutesOptions } from '../../subject/endpoint-types.js';
import { createSubjectEndpoints } from '../../subject/endpoints.js';

/**
 * The data subject's endpoints for Express 5: list consents and preferences, withdraw (one consent,
 * one purpose, everything; Art. 15), opt out of personalisation or marketing and back in (Art. 24(2)).
 * Mount it where you like; paths are relative to the mount point. Reads `req.body` when a body
 * parser ran, else the JSON body itself.
 *
 * @example
 * ```ts
 * app.use('/privacy', subjectRoutes(pipl, {
 *   authenticate: (req) => req.user?.id,                 // who is calling, as your app knows it
 *   consents: (subject) => consentService.list(subject),  // their consents, from the consent service
 *   onWithdraw: async (w) => ({ reference: await deletionQueue.add(w) }), // Art. 47(1)
 * }));
 * // GET /privacy/subjects/u42 · POST /privacy/subjects/u42/withdrawals · PUT /privacy/subjects/u42/preferences
 * ```
 */
export function subjectRoutes<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: SubjectRoutesOptions<Request>,
): RequestHandler {
  const endpoints = createSubjectEndpoints(pipl as PiplGuard<string, string>, options);
  return function piplSubjectRoutes(req: Request, res: Response, next: NextFunction) {
    if (!endpoints.match(req.method, req.path)) return next();
    endpoints
      .handle(
        req,
        req.method,
        req.path,
        (name) => req.headers[name],
        () => jsonBody(req, req.body),
      )
      .then((answer) => {
        if (!answer) return next();
        res.status(answer.status);
        for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
        res.end(JSON.stringify(answer.body));
      }, next);
  };
}

import type { Context, Middleware, Next } from 'koa';
import type { PiplGuard } from '../../guard/index.js';
import { jsonBody } from '../../subject/body.js';
import type { SubjectRoutesOptions } from '../../subject/endpoint-types.js';
import { createSubjectEndpoints } from '../../subject/endpoints.js';

/**
 * The data subject's endpoints for Koa 3 (see the Express `subjectRoutes`): list, withdraw, opt out
 * and back in. Paths are relative to `prefix` (default `''`). Reads `ctx.request.body` when a body
 * parser ran, else the JSON body itself.
 *
 * @example
 * ```ts
 * app.use(subjectRoutes(pipl, {
 *   prefix: '/privacy',
 *   authenticate: (ctx) => ctx.state.user?.id,
 *   consents: (subject) => consentService.list(subject),
 * }));
 * ```
 */
export function subjectRoutes<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: SubjectRoutesOptions<Context> & { prefix?: string },
): Middleware {
  const endpoints = createSubjectEndpoints(pipl as PiplGuard<string, string>, options);
  const prefix = options.prefix ?? '';
  return async function piplSubjectRoutes(ctx: Context, next: Next) {
    const path = ctx.path.startsWith(prefix) ? ctx.path.slice(prefix.length) : undefined;
    if (path === undefined || !endpoints.match(ctx.method, path)) return next();
    const parsed = (ctx.request as { body?: unknown }).body;
    const answer = await endpoints.handle(
      ctx,
      ctx.method,
      path,
      (name) => ctx.req.headers[name],
      () => jsonBody(ctx.req, parsed),
    );
    if (!answer) return next();
    ctx.status = answer.status;
    ctx.set(answer.headers);
    ctx.body = JSON.stringify(answer.body);
    ctx.type = answer.headers['content-type'] ?? 'application/json';
  };
}

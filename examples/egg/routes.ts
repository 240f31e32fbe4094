// README "Decorators and frameworks": Egg 4 (Koa-based), koaGuard as router middleware.
import type { Context } from 'koa';
import type { PiplGuard } from 'pipl-guard';
import { koaGuard } from 'pipl-guard/koa';

interface EggRouter {
  get(path: string, ...middleware: ((ctx: Context, next: () => Promise<unknown>) => unknown)[]): unknown;
}

export function addRoutes(router: EggRouter, pipl: PiplGuard<'health.records'>) {
  const guard = koaGuard(pipl);
  router.get(
    '/users/:id/records',
    guard('health.records', { operation: 'use', subject: (ctx) => ctx.params.id }) as never,
    (ctx) => {
      // Egg runs on a Koa 2 fork: assign the body as a string so a set content type is kept.
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ user: ctx.params.id, reason: ctx.state.pipl?.decision.reason });
    },
  );
}

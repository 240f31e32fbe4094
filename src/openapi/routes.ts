import { guardedBy } from '../adapters/route-registry.js';
import type { Requirement } from '../policy/requirement.js';

/** One guarded operation, as `withPiplOpenApi` documents it. */
export interface GuardedRoute {
  /** HTTP method, any case. */
  readonly method: string;
  /** Route pattern in Express/Koa syntax (`/users/:id`) or OpenAPI syntax (`/users/{id}`). */
  readonly path: string;
  /** From `pipl.requirement(purpose, route)` or found by `expressRoutes` / `koaRoutes`. */
  readonly requirement: Requirement;
  /** The route resolves the data subject from the request (default false). */
  readonly subject?: boolean;
}

interface ExpressLayer {
  route?: { path?: unknown; stack?: ExpressLayer[] };
  handle?: unknown;
  method?: string;
  rawPath?: unknown;
}

/**
 * Finds every route guarded by `expressGuard` in an Express 5 app or router, with its method and
 * path, including routers mounted under a string prefix. Call it after the routes are defined.
 *
 * @example
 * ```ts
 * const document = withPiplOpenApi(baseDocument, { routes: expressRoutes(app) });
 * ```
 */
export function expressRoutes(app: unknown): GuardedRoute[] {
  const root = (app as { router?: { stack?: ExpressLayer[] }; stack?: ExpressLayer[] }) ?? {};
  const stack = root.stack ?? root.router?.stack;
  if (!Array.isArray(stack)) throw new TypeError('expressRoutes: pass an Express 5 app or router');
  const found: GuardedRoute[] = [];
  walkExpress(stack, '', found);
  return found;
}

function walkExpress(stack: readonly ExpressLayer[], prefix: string, found: GuardedRoute[]): void {
  for (const layer of stack) {
    const route = layer.route;
    if (route && typeof route.path === 'string') {
      for (const handler of route.stack ?? []) {
        const guarded = guardedBy(handler.handle);
        if (guarded && handler.method) {
          found.push({ method: handler.method, path: prefix + route.path, ...guarded });
        }
      }
      continue;
    }
    const nested = (layer.handle as { stack?: unknown } | undefined)?.stack;
    if (Array.isArray(nested) && typeof layer.rawPath === 'string') {
      walkExpress(nested as ExpressLayer[], prefix + (layer.rawPath === '/' ? '' : layer.rawPath), found);
    }
  }
}

/**
 * Finds every route guarded by `koaGuard` in a `@koa/router` router (prefixes and nested routers
 * included, as the router flattens them). `HEAD`, which the router adds to every `GET`, is left out.
 *
 * @example
 * ```ts
 * const document = withPiplOpenApi(baseDocument, { routes: koaRoutes(router) });
 * ```
 */
export function koaRoutes(router: unknown): GuardedRoute[] {
  const stack = (router as { stack?: unknown })?.stack;
  if (!Array.isArray(stack)) throw new TypeError('koaRoutes: pass a @koa/router router');
  const found: GuardedRoute[] = [];
  for (const layer of stack as Array<{ path?: unknown; methods?: string[]; stack?: unknown[] }>) {
    if (typeof layer.path !== 'string') continue;
    for (const middleware of layer.stack ?? []) {
      const guarded = guardedBy(middleware);
      if (!guarded) continue;
      for (const method of layer.methods ?? []) {
        if (method !== 'HEAD') found.push({ method, path: layer.path, ...guarded });
      }
    }
  }
  return found;
}

import { methodDecorator, type PiplMethodDecorator } from './modes.js';
import { ensureEntry, type HttpMethod } from './registry.js';

/**
 * The route a method of a plain class answers, for `mountExpressController` / `mountKoaController`.
 * Frameworks with their own route decorators (NestJS, routing-controllers, Midway) do not need it.
 *
 * @example
 * ```ts
 * class Records {
 *   @Route('get', '/users/:id/records')
 *   @RequiresConsent('health.records', { operation: 'use', subject: (req) => req.params.id })
 *   list(req: Request, res: Response) { res.json([]); }
 * }
 * ```
 */
export function Route(method: HttpMethod, path: string): PiplMethodDecorator {
  return methodDecorator((fn, name) => {
    const entry = ensureEntry(fn, name);
    if (entry.http) throw new TypeError(`${name}(): one @Route per method`);
    entry.http = { method, path };
  }, false);
}

/**
 * Marks a method that touches no personal information, so integrations that refuse undeclared
 * routes by default (plain classes, NestJS) let it through. Nothing is audited for it.
 *
 * @example
 * ```ts
 * @Route('get', '/health') @PiplExempt() health() { return { ok: true }; }
 * ```
 */
export function PiplExempt(): PiplMethodDecorator {
  return methodDecorator((fn, name) => {
    ensureEntry(fn, name).exempt = true;
  }, false);
}

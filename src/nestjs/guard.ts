import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, RequestHandler, Response } from 'express';
import { expressGuard } from '../adapters/express/guard.js';
import { enterMarked, guardMissing } from '../decorators/marker.js';
import { type AnyClass, entryOf, type MethodEntry } from '../decorators/registry.js';
import { resolveMethod } from '../decorators/resolve.js';
import { isPiplGuardError } from '../errors/errors.js';
import { PIPL_OPTIONS, type PiplModuleOptions } from './options.js';

/**
 * The NestJS guard: finds the handler's `RequiresConsent` in the package registry and runs the
 * `expressGuard` middleware for it (one decision path: same reason codes, audit record with the
 * route pattern, outcome tracking). Denials are thrown as `PiplGuardError`, which
 * `PiplProblemFilter` renders as problem+json. Usable with `@UseGuards(PiplNestGuard)` and as
 * `APP_GUARD` (what `PiplModule.forRoot` registers by default).
 *
 * @example
 * ```ts
 * @UseGuards(PiplNestGuard)
 * @Controller('users')
 * class RecordsController { ... }
 * ```
 */
export class PiplNestGuard implements CanActivate {
  readonly #middleware = new WeakMap<MethodEntry, RequestHandler>();

  constructor(private readonly options: PiplModuleOptions) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const target = context.getClass() as unknown as AnyClass;
    const handler = context.getHandler();
    const where = `${target.name}.${handler.name}()`;
    const entry = entryOf(handler);
    if (!entry) {
      if (this.options.undeclared === 'allow') return true;
      throw guardMissing(`${where}, which declares no RequiresConsent,`);
    }
    if (entry.exempt && entry.requirements.length === 0) return true;
    if (context.getType() !== 'http') throw guardMissing(`${where} (not over HTTP)`);
    const middleware = this.middlewareFor(target, entry, where);
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    // Before any await: the marker must reach the handler through this request's async context.
    const marker = enterMarked(entry);
    return new Promise<boolean>((resolve, reject) => {
      res.once('close', () => {
        marker.state = 'spent';
        resolve(false);
      });
      middleware(req, res, (error?: unknown) => {
        if (error !== undefined) return reject(error);
        marker.state = 'allowed';
        resolve(true);
      });
    });
  }

  private middlewareFor(target: AnyClass, entry: MethodEntry, where: string): RequestHandler {
    let middleware = this.#middleware.get(entry);
    if (middleware) return middleware;
    const { pipl } = this.options;
    try {
      const method = resolveMethod(pipl.policy, target, entry);
      const options = {
        errors: 'next' as const,
        ...(this.options.actor ? { actor: this.options.actor } : {}),
      };
      middleware = expressGuard(pipl, options)(method.purpose as string, method.route as never);
    } catch (error) {
      // Normally caught at start-up by PiplModule; if not, this request fails closed, never a 500.
      this.options.onError?.(error);
      if (isPiplGuardError(error)) throw error;
      throw guardMissing(`${where} (its requirement is invalid)`);
    }
    this.#middleware.set(entry, middleware);
    return middleware;
  }
}

Injectable()(PiplNestGuard);
Inject(PIPL_OPTIONS)(PiplNestGuard, undefined as never, 0);

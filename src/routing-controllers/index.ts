import type { Request, RequestHandler } from 'express';
import type { Context, Middleware } from 'koa';
import { UseBefore } from 'routing-controllers';
import { sendProblem as sendExpressProblem } from '../adapters/express/guard.js';
import { sendProblem as sendKoaProblem } from '../adapters/koa/guard.js';
import {
  type ControllerDefaults,
  createDecorators,
  type DecoratedRequirement,
} from '../decorators/create.js';
import { expressMethodGuard } from '../decorators/express.js';
import { koaMethodGuard } from '../decorators/koa.js';
import { guardMissing } from '../decorators/marker.js';
import { type AnyClass, entryOf, type MethodEntry } from '../decorators/registry.js';
import { resolveMethod } from '../decorators/resolve.js';
import { PiplExempt } from '../decorators/route.js';
import type { ActorResolver, PiplGuard } from '../guard/types.js';
import type { BuiltinCategory } from '../taxonomy/taxonomy.js';

export { PiplExempt };

export interface RoutingControllersOptions {
  /** The routing-controllers driver the controllers run on. */
  driver: 'express' | 'koa';
  /** Who makes the request, for the audit record. */
  actor?: ActorResolver<Request> | ActorResolver<Context>;
  /** Called with unexpected errors (e.g. a requirement that fails to compile); the request fails closed. */
  onError?: (error: unknown) => void;
}

/** A legacy (`experimentalDecorators`) method decorator, as routing-controllers uses. */
export type LegacyMethodDecorator = (
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
) => void;
/** A legacy class decorator. */
export type LegacyClassDecorator = (target: AnyClass) => void;

export interface RoutingControllersDecorators<P extends string, C extends string> {
  /** `RequiresConsent` registered as the action's `UseBefore` middleware: the guard runs first. */
  RequiresConsent(purpose: P, route: DecoratedRequirement<BuiltinCategory | C>): LegacyMethodDecorator;
  RequiresConsent(route: DecoratedRequirement<BuiltinCategory | C>): LegacyMethodDecorator;
  /** Class defaults; also checks every decorated method against the policy at class definition. */
  PiplController(defaults?: ControllerDefaults<P, BuiltinCategory | C>): LegacyClassDecorator;
}

/**
 * Decorators for routing-controllers (0.11, Express 5 or Koa 3 driver): `RequiresConsent` adds the
 * `expressGuard`/`koaGuard` middleware for the action with `UseBefore`, so every integration runs
 * the same decision path. Use `defaultErrorHandler: false` with `piplProblemHandler()` (Express) or
 * `piplProblems()` (Koa) so a method reached without its guard answers 503 problem+json.
 *
 * @example
 * ```ts
 * const { RequiresConsent } = routingControllersDecorators(pipl, { driver: 'express' });
 * @JsonController('/users')
 * class Users {
 *   @Get('/:id/profile')
 *   @RequiresConsent('account.profile', { operation: 'use', subject: (req) => req.params.id })
 *   profile() { return { ok: true }; }
 * }
 * ```
 */
export function routingControllersDecorators<P extends string, C extends string>(
  pipl: PiplGuard<P, C>,
  options: RoutingControllersOptions,
): RoutingControllersDecorators<P, C> {
  const core = createDecorators(pipl);
  const guardOptions = options.actor ? { actor: options.actor as never } : {};

  function build(target: AnyClass, entry: MethodEntry): RequestHandler | Middleware {
    const method = resolveMethod(pipl.policy, target, entry);
    return options.driver === 'express'
      ? expressMethodGuard(pipl, method, guardOptions)
      : koaMethodGuard(pipl, method, guardOptions);
  }

  /** Built on first use: class defaults are only known once the class is fully decorated. */
  function lazyGuard(target: AnyClass, entry: MethodEntry): RequestHandler | Middleware {
    let guard: RequestHandler | Middleware | undefined;
    const prepare = () => {
      try {
        guard ??= build(target, entry);
        return guard;
      } catch (error) {
        options.onError?.(error);
        return undefined;
      }
    };
    const where = `${target.name}.${entry.name}() (its requirement is invalid)`;
    if (options.driver === 'express') {
      return function piplRoutingGuard(...args: Parameters<RequestHandler>) {
        const ready = prepare() as RequestHandler | undefined;
        if (ready) return ready(...args);
        const error = guardMissing(where);
        sendExpressProblem(args[1], error);
      };
    }
    return function piplRoutingGuard(ctx: Context, next: () => Promise<unknown>) {
      const ready = prepare() as Middleware | undefined;
      if (ready) return ready(ctx as never, next);
      sendKoaProblem(ctx, guardMissing(where));
    };
  }

  function RequiresConsent(first: unknown, second?: unknown): LegacyMethodDecorator {
    const decorate = (core.RequiresConsent as (a: unknown, b?: unknown) => LegacyMethodDecorator)(
      first,
      second,
    );
    return function piplRequiresConsent(target, key, descriptor) {
      decorate(target, key, descriptor);
      const entry = entryOf(descriptor.value);
      if (!entry) throw new TypeError('RequiresConsent applies to methods');
      const klass = (target as { constructor: AnyClass }).constructor;
      (UseBefore(lazyGuard(klass, entry) as never) as (target: object, key: string | symbol) => void)(
        target,
        key,
      );
    };
  }

  return {
    RequiresConsent,
    PiplController: core.PiplController as (defaults?: object) => LegacyClassDecorator,
  } as RoutingControllersDecorators<P, C>;
}

import type { PiplGuard } from '../guard/types.js';
import type { Policy } from '../policy/define-policy.js';
import type { RouteRequirement } from '../policy/requirement.js';
import type { BuiltinCategory } from '../taxonomy/taxonomy.js';
import {
  classDecorator,
  methodDecorator,
  type PiplClassDecorator,
  type PiplMethodDecorator,
} from './modes.js';
import {
  type AnySubjectResolver,
  classDefaultsOf,
  ensureEntry,
  type MethodOptions,
  setClassDefaults,
} from './registry.js';
import { checkClass } from './resolve.js';

/** A method's requirement: the route requirement of `expressGuard`/`koaGuard`, plus the subject resolver. */
export interface DecoratedRequirement<C extends string = string> extends RouteRequirement<C> {
  /**
   * The data subject, from the framework's request: `(req) => req.params.id` (Express, NestJS,
   * routing-controllers on Express) or `(ctx) => ctx.params.id` (Koa). Absent: the token's own subject.
   */
  subject?: AnySubjectResolver;
}

/** Class-level defaults, refined by each method's `RequiresConsent`. */
export interface ControllerDefaults<P extends string, C extends string> {
  purpose?: P;
  categories?: readonly C[];
  subject?: AnySubjectResolver;
}

export interface PiplDecorators<P extends string, C extends string> {
  /**
   * Declares what a method does with personal information. Works as a standard (TC39) and as a
   * legacy (`experimentalDecorators`) decorator.
   */
  RequiresConsent(purpose: P, route: DecoratedRequirement<BuiltinCategory | C>): PiplMethodDecorator;
  /** Same, with the purpose taken from the class's `PiplController({ purpose })`. */
  RequiresConsent(route: DecoratedRequirement<BuiltinCategory | C>): PiplMethodDecorator;
  /**
   * Class-level defaults (purpose, categories, subject). Also checks every decorated method of the
   * class against the policy when the class is defined: a mistake is a `PiplConfigError` at start-up.
   */
  PiplController(defaults?: ControllerDefaults<P, BuiltinCategory | C>): PiplClassDecorator;
}

/**
 * Decorators typed against one policy: a misspelt purpose, category or operation is a type error,
 * and (for JavaScript) a `PiplConfigError` naming the class and method at start-up.
 *
 * @example
 * ```ts
 * const { RequiresConsent, PiplController } = createDecorators(pipl);
 *
 * @PiplController({ subject: (req) => req.params.id })
 * class RecordsController {
 *   @Route('get', '/users/:id/records')
 *   @RequiresConsent('health.records', { operation: 'use' })
 *   records(req, res) { res.json({ records: [] }); }
 * }
 * ```
 */
export function createDecorators<P extends string, C extends string>(
  source: PiplGuard<P, C> | Policy<P, C>,
): PiplDecorators<P, C> {
  const policy: Policy = 'check' in source ? source.policy : source;

  function RequiresConsent(
    first: P | DecoratedRequirement<BuiltinCategory | C>,
    second?: DecoratedRequirement<BuiltinCategory | C>,
  ): PiplMethodDecorator {
    const purpose = typeof first === 'string' ? first : undefined;
    const route = typeof first === 'string' ? second : first;
    const options: MethodOptions = { ...(route as MethodOptions) };
    return methodDecorator((method, name) => {
      ensureEntry(method, name).requirements.push({ purpose, options });
    });
  }

  function PiplController(defaults: ControllerDefaults<P, BuiltinCategory | C> = {}): PiplClassDecorator {
    return classDecorator((target) => {
      setClassDefaults(target, { ...defaults, ...classDefaultsOf(target) });
      checkClass(policy, target);
    });
  }

  return { RequiresConsent, PiplController } as PiplDecorators<P, C>;
}

import { PiplConfigError } from '../errors/errors.js';
import type { Policy } from '../policy/define-policy.js';
import { compileRequirement, type RouteRequirement } from '../policy/requirement.js';
import {
  type AnyClass,
  type AnySubjectResolver,
  classDefaultsOf,
  decoratedMethods,
  type MethodEntry,
} from './registry.js';

/** One decorated method, its class defaults merged in, checked against the policy. */
export interface ResolvedMethod {
  readonly entry: MethodEntry;
  readonly name: string;
  /** Undefined for `PiplExempt()` methods. */
  readonly purpose: string | undefined;
  readonly route: (RouteRequirement & { subject?: AnySubjectResolver }) | undefined;
}

function className(target: AnyClass): string {
  return target.name || '(anonymous class)';
}

/**
 * Merges class defaults into one method's requirement and checks it through `compileRequirement`
 * (the same check `pipl.requirement()` runs). Throws `PiplConfigError` naming class and method.
 */
export function resolveMethod(policy: Policy, target: AnyClass, entry: MethodEntry): ResolvedMethod {
  const where = `${className(target)}.${entry.name}()`;
  if (entry.requirements.length > 1) {
    throw new PiplConfigError(
      `${where}: ${entry.requirements.length} requirements on one method; declare exactly one RequiresConsent`,
    );
  }
  const declared = entry.requirements[0];
  if (!declared) {
    if (entry.exempt) return { entry, name: entry.name, purpose: undefined, route: undefined };
    throw new PiplConfigError(
      `${where}: has a route but no RequiresConsent (mark it PiplExempt() if it touches no personal information)`,
    );
  }
  if (entry.exempt) throw new PiplConfigError(`${where}: both PiplExempt() and RequiresConsent`);
  const defaults = classDefaultsOf(target) ?? {};
  const purpose = declared.purpose ?? defaults.purpose;
  if (purpose === undefined) {
    throw new PiplConfigError(`${where}: no purpose (give one to RequiresConsent or PiplController)`);
  }
  const { subject: ownSubject, categories: ownCategories, ...rest } = declared.options;
  if (typeof rest.operation !== 'string')
    throw new PiplConfigError(`${where}: RequiresConsent needs an operation`);
  // A key the method names, even as undefined, overrides the class default (e.g. `subject: undefined`).
  const categories = 'categories' in declared.options ? ownCategories : defaults.categories;
  const subject = 'subject' in declared.options ? ownSubject : defaults.subject;
  const route = { ...rest, ...(categories ? { categories } : {}), ...(subject ? { subject } : {}) };
  try {
    compileRequirement(policy, purpose, route);
  } catch (error) {
    if (error instanceof PiplConfigError) throw new PiplConfigError(`${where}: ${error.message}`);
    throw error;
  }
  return { entry, name: entry.name, purpose, route };
}

/** Resolves every decorated method of a class; the first mistake throws. */
export function checkClass(policy: Policy, target: AnyClass): ResolvedMethod[] {
  return [...decoratedMethods(target).values()].map((entry) => resolveMethod(policy, target, entry));
}

/**
 * Every method of a plain controller instance, checked, with its `@Route`: all or nothing, so a
 * class with one unmountable method mounts none (`PiplConfigError` naming it).
 */
export function mountableMethods(
  policy: Policy,
  instance: object,
): { method: ResolvedMethod; http: NonNullable<MethodEntry['http']> }[] {
  const target = instance.constructor as AnyClass;
  const methods = checkClass(policy, target);
  for (const method of methods) {
    if (!method.entry.http) {
      throw new PiplConfigError(`${target.name}.${method.name}(): no @Route, so it cannot be mounted`);
    }
  }
  return methods.map((method) => ({ method, http: method.entry.http as NonNullable<MethodEntry['http']> }));
}

import { failClosed } from './marker.js';
import { type AnyClass, type AnyMethod, ensureEntry, linkEntry, type MethodEntry } from './registry.js';

/**
 * A method decorator usable in both TypeScript modes: standard (TC39) `(value, context)` and
 * legacy `experimentalDecorators` `(target, key, descriptor)`.
 */
export interface PiplMethodDecorator {
  // biome-ignore lint/suspicious/noExplicitAny: a decorator accepts methods of any signature
  <F extends (this: any, ...args: any[]) => any>(
    value: F,
    context: ClassMethodDecoratorContext,
  ): F | undefined;
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): void;
}

/** A class decorator usable in both modes. */
export type PiplClassDecorator = (target: AnyClass, context?: ClassDecoratorContext) => void;

interface MetadataReflect {
  getOwnMetadataKeys?(target: object): unknown[];
  getOwnMetadata?(key: unknown, target: object): unknown;
  defineMetadata?(key: unknown, value: unknown, target: object): void;
}

const wrappers = new WeakSet<AnyMethod>();

function isStandard(context: unknown): context is ClassMethodDecoratorContext | ClassDecoratorContext {
  return typeof context === 'object' && context !== null && 'kind' in context;
}

/**
 * Legacy frameworks (NestJS, Midway) keep route metadata on the method function through
 * reflect-metadata; the fail-closed wrapper replaces the function, so it carries that metadata over.
 */
function carryMetadata(from: AnyMethod, to: AnyMethod): void {
  const meta = Reflect as unknown as MetadataReflect;
  if (!meta.getOwnMetadataKeys || !meta.getOwnMetadata || !meta.defineMetadata) return;
  for (const key of meta.getOwnMetadataKeys(from))
    meta.defineMetadata(key, meta.getOwnMetadata(key, from), to);
}

function wrap(method: AnyMethod, entry: MethodEntry): AnyMethod {
  if (wrappers.has(method)) return method;
  const wrapped = failClosed(method, entry);
  wrappers.add(wrapped);
  linkEntry(wrapped, entry);
  carryMetadata(method, wrapped);
  return wrapped;
}

/**
 * Builds a dual-mode method decorator. `record` stores what the decorator declares; with `guarded`
 * the method is replaced by its fail-closed wrapper (once, however many decorators ask).
 */
export function methodDecorator(
  record: (method: AnyMethod, name: string) => void,
  guarded = true,
): PiplMethodDecorator {
  function decorate(target: unknown, key: unknown, descriptor?: PropertyDescriptor): unknown {
    if (isStandard(key)) {
      if (key.kind !== 'method') throw new TypeError('pipl-guard decorators apply to methods and classes');
      const method = target as AnyMethod;
      const name = String(key.name);
      record(method, name);
      return guarded ? wrap(method, ensureEntry(method, name)) : undefined;
    }
    const method = descriptor?.value;
    if (typeof method !== 'function')
      throw new TypeError('pipl-guard decorators apply to methods and classes');
    const name = String(key);
    record(method, name);
    if (guarded && descriptor) descriptor.value = wrap(method, ensureEntry(method, name));
    return undefined;
  }
  return decorate as PiplMethodDecorator;
}

/** Builds a dual-mode class decorator. */
export function classDecorator(record: (target: AnyClass) => void): PiplClassDecorator {
  return function decorateClass(target: AnyClass, context?: ClassDecoratorContext) {
    if (context !== undefined && context.kind !== 'class') {
      throw new TypeError('this pipl-guard decorator applies to classes');
    }
    record(target);
  };
}

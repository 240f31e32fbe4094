import type { Operation } from '../taxonomy/taxonomy.js';

/** Finds the data subject in whatever request object the integration passes (req, ctx). */
// biome-ignore lint/suspicious/noExplicitAny: the request type depends on the framework the class is mounted on
export type AnySubjectResolver = (request: any) => string | readonly string[] | undefined;

/** What `RequiresConsent` records for one method, before class defaults are merged in. */
export interface MethodOptions {
  operation: Operation;
  categories?: readonly string[];
  subject?: AnySubjectResolver;
  recipient?: string;
  crossBorder?: { country: string; recipient: string };
  route?: string;
}

/** One decorated method. Shared by the original function and its fail-closed wrapper. */
export interface MethodEntry {
  /** Method name, as written in the class. */
  name: string;
  /** Requirements declared on it: more than one is a configuration error, reported at bind time. */
  requirements: { purpose: string | undefined; options: MethodOptions }[];
  /** For plain classes: the route the method answers (`@Route('get', '/users/:id')`). */
  http?: { method: HttpMethod; path: string };
  /** Set by `PiplExempt()`: the method touches no personal information. */
  exempt?: boolean;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Class-level defaults from `PiplController()`. */
export interface ClassDefaults {
  purpose?: string;
  categories?: readonly string[];
  subject?: AnySubjectResolver;
}

/** Any method a decorator may see. */
export type AnyMethod = (...args: never[]) => unknown;
/** Any class a decorator may see. */
export type AnyClass = abstract new (...args: never[]) => unknown;

// The package's own registry: no reflect-metadata, no Symbol.metadata (absent on Node 20).
const entries = new WeakMap<AnyMethod, MethodEntry>();
const classes = new WeakMap<AnyClass, ClassDefaults>();

export function entryOf(method: unknown): MethodEntry | undefined {
  return typeof method === 'function' ? entries.get(method as AnyMethod) : undefined;
}

/** The entry for a method function, created on first use. */
export function ensureEntry(method: AnyMethod, name: string): MethodEntry {
  let entry = entries.get(method);
  if (!entry) {
    entry = { name, requirements: [] };
    entries.set(method, entry);
  }
  return entry;
}

export function linkEntry(method: AnyMethod, entry: MethodEntry): void {
  entries.set(method, entry);
}

export function setClassDefaults(target: AnyClass, defaults: ClassDefaults): void {
  classes.set(target, defaults);
}

export function classDefaultsOf(target: AnyClass): ClassDefaults | undefined {
  return classes.get(target);
}

/** Every decorated method of a class (own and inherited), by name. */
export function decoratedMethods(target: AnyClass): Map<string, MethodEntry> {
  const found = new Map<string, MethodEntry>();
  for (
    let proto = target.prototype;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || found.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      const entry = entryOf(descriptor?.value);
      if (entry) found.set(key, entry);
    }
  }
  return found;
}

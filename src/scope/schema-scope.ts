import { z } from 'zod';

/** Metadata a response field carries: the PI categories it holds (Art. 6 minimum scope). */
export interface PiiMeta {
  pii: string | readonly string[];
}

/**
 * Tags a zod schema with the PI categories its value holds, in zod 4's global registry (the same as
 * `schema.meta({ pii: 'contact' })`). A tag on an object or array covers everything inside it.
 *
 * @example
 * ```ts
 * const Profile = z.object({
 *   name: pii(z.string(), 'identity_basic'),
 *   phone: z.string().meta({ pii: 'contact' }),
 *   id: z.string(),
 * });
 * ```
 */
export function pii<S extends z.ZodType>(schema: S, categories: string | readonly string[]): S {
  return schema.meta({ pii: categories }) as S;
}

/** A schema compiled once at start-up: the categories of every field, ready for per-response filtering. */
export type ScopeNode =
  | { readonly kind: 'leaf'; readonly categories: readonly string[] }
  | {
      readonly kind: 'object';
      readonly categories: readonly string[];
      readonly fields: ReadonlyMap<string, ScopeNode>;
      /** Keys the schema does not name: kept only for loose objects / catchall (else withheld). */
      readonly rest: ScopeNode | undefined;
    }
  | { readonly kind: 'array'; readonly categories: readonly string[]; readonly element: ScopeNode }
  | { readonly kind: 'record'; readonly categories: readonly string[]; readonly value: ScopeNode }
  | {
      readonly kind: 'union';
      readonly categories: readonly string[];
      readonly options: readonly ScopeNode[];
    };

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function categoriesOfMeta(schema: z.ZodType): string[] {
  const meta = z.globalRegistry.get(schema) as Partial<PiiMeta> | undefined;
  if (meta?.pii === undefined) return [];
  return typeof meta.pii === 'string' ? [meta.pii] : [...meta.pii];
}

/**
 * Compiles a zod 4 schema into a {@link ScopeNode}. Categories add up downwards: a field inside a
 * `contact` object is `contact` plus its own tags. Routes do this once, at start-up.
 *
 * @example
 * ```ts
 * const scope = compileScope(z.object({ phone: z.string().meta({ pii: 'contact' }) }));
 * filterByScope({ phone: '138' }, scope, new Set()).withheld; // ['/phone']
 * ```
 */
export function compileScope(schema: z.ZodType, inherited: readonly string[] = []): ScopeNode {
  const categories = [...new Set([...inherited, ...categoriesOfMeta(schema)])];
  const def = (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
  if (WRAPPERS.has(def.type) && def.innerType) return compileScope(def.innerType, categories);
  if (def.type === 'pipe' && def.in) return compileScope(def.in, categories);
  switch (def.type) {
    case 'object': {
      const fields = new Map<string, ScopeNode>();
      for (const [key, field] of Object.entries(def.shape ?? {}))
        fields.set(key, compileScope(field, categories));
      const catchall =
        def.catchall && (def.catchall as unknown as { _zod: { def: ZodDef } })._zod.def.type !== 'never';
      return {
        kind: 'object',
        categories,
        fields,
        rest: catchall && def.catchall ? compileScope(def.catchall, categories) : undefined,
      };
    }
    case 'array':
      return { kind: 'array', categories, element: compileScope(def.element as z.ZodType, categories) };
    case 'record':
      return { kind: 'record', categories, value: compileScope(def.valueType as z.ZodType, categories) };
    case 'union':
      return {
        kind: 'union',
        categories,
        options: (def.options ?? []).map((o) => compileScope(o, categories)),
      };
    default:
      return { kind: 'leaf', categories };
  }
}

/**
 * Every PI category a schema's fields carry: a route's categories can be derived from its response
 * schema (`categories: [...schemaCategories(Profile)]`).
 *
 * @example
 * ```ts
 * guard('account.profile', { operation: 'use', categories: [...schemaCategories(Profile)] });
 * ```
 */
export function schemaCategories(schema: z.ZodType): Set<string> {
  const found = new Set<string>();
  const visit = (node: ScopeNode) => {
    for (const category of node.categories) found.add(category);
    if (node.kind === 'object') {
      for (const field of node.fields.values()) visit(field);
      if (node.rest) visit(node.rest);
    } else if (node.kind === 'array') visit(node.element);
    else if (node.kind === 'record') visit(node.value);
    else if (node.kind === 'union') for (const option of node.options) visit(option);
  };
  visit(compileScope(schema));
  return found;
}

import type { ScopeNode } from './schema-scope.js';

/** What minimisation did to one response body. */
export interface ScopeResult {
  /** The body with every field of an uncovered category removed. */
  readonly value: unknown;
  /** JSON-pointer-like paths of the removed fields (`/orders/0/phone`); array indices included. */
  readonly withheld: readonly string[];
}

/**
 * Removes from `value` every field whose categories are not all in `allowed` (Art. 6 minimum scope),
 * walking nested objects and arrays. Keys the schema does not name are withheld too: an unclassified
 * field is not known to be free of PI. Never mutates `value`.
 *
 * @example
 * ```ts
 * const scope = compileScope(Profile);
 * const { value, withheld } = filterByScope(body, scope, new Set(['identity_basic']));
 * ```
 */
export function filterByScope(value: unknown, scope: ScopeNode, allowed: ReadonlySet<string>): ScopeResult {
  const withheld: string[] = [];
  const kept = walk(value, scope, allowed, '', withheld);
  return { value: kept === WITHHELD ? null : kept, withheld };
}

const WITHHELD = Symbol('withheld');

function covered(node: ScopeNode, allowed: ReadonlySet<string>): boolean {
  for (const category of node.categories) if (!allowed.has(category)) return false;
  return true;
}

function walk(
  value: unknown,
  node: ScopeNode,
  allowed: ReadonlySet<string>,
  path: string,
  withheld: string[],
): unknown {
  if (!covered(node, allowed)) {
    withheld.push(path || '/');
    return WITHHELD;
  }
  if (node.kind === 'union' && (value === null || typeof value !== 'object')) {
    // Which option a primitive matched is not known here: fail closed if any plain option is uncovered.
    const plain = node.options.filter((o) => o.kind === 'leaf');
    if (plain.some((o) => !covered(o, allowed))) {
      withheld.push(path || '/');
      return WITHHELD;
    }
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (node.kind === 'union') {
    // The option whose shape matches decides; with none (or a leaf), the strictest reading: an
    // option that is an object/array filters like it.
    const option =
      node.options.find((o) =>
        Array.isArray(value) ? o.kind === 'array' : o.kind === 'object' || o.kind === 'record',
      ) ?? node.options[0];
    return option ? walk(value, option, allowed, path, withheld) : value;
  }
  if (Array.isArray(value)) {
    if (node.kind !== 'array') return value;
    const out: unknown[] = [];
    value.forEach((item, index) => {
      const kept = walk(item, node.element, allowed, `${path}/${index}`, withheld);
      // An element withheld becomes null: indices keep their meaning for the client.
      out.push(kept === WITHHELD ? null : kept);
    });
    return out;
  }
  const source = (
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON(): unknown }).toJSON()
      : value
  ) as Record<string, unknown>;
  if (source === null || typeof source !== 'object') return source;
  if (node.kind !== 'object' && node.kind !== 'record') return source;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(source)) {
    const child = node.kind === 'record' ? node.value : (node.fields.get(key) ?? node.rest);
    const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (child === undefined) {
      withheld.push(at);
      continue;
    }
    const kept = walk(field, child, allowed, at, withheld);
    if (kept !== WITHHELD) out[key] = kept;
  }
  return out;
}

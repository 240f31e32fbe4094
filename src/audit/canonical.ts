/**
 * RFC 8785 (JCS) canonical JSON for the values audit records hold: strings, finite numbers,
 * booleans, null, arrays and plain objects. Keys are sorted by UTF-16 code units, as JCS requires,
 * and strings and numbers use ECMAScript serialisation, which JCS adopts. `undefined` members are
 * dropped, like JSON.stringify does.
 */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot hold NaN or Infinity');
      // ECMAScript Number::toString, which is what JSON.stringify and JCS use (-0 becomes "0").
      return String(value);
    case 'object': {
      // Frozen parts (the enforcer, a route's category list) repeat on every record: serialise once.
      if (Object.isFrozen(value)) {
        let text = frozen.get(value);
        if (text === undefined) {
          text = serialiseObject(value);
          frozen.set(value, text);
        }
        return text;
      }
      return serialiseObject(value);
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

const frozen = new WeakMap<object, string>();

function serialiseObject(value: object): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += value[i] === undefined ? 'null' : canonicalize(value[i]);
    }
    return `${out}]`;
  }
  return `{${members(value as Record<string, unknown>).join(',')}}`;
}

/** The `"key":value` members of an object, in canonical order. */
export function members(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  // Records' small objects are mostly built with their keys in order already: skip the sort then.
  if (!inOrder(keys)) keys.sort();
  const out: string[] = [];
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out.push(`${quoteKey(key)}:${canonicalize(member)}`);
  }
  return out;
}

/** Are these keys in canonical (UTF-16 code unit) order already? */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

/** Printable ASCII without `"` or `\\`: the characters a JSON string holds as they are. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A string as JSON (and JCS) writes it. Ids, hashes, times and names are plain ASCII: quoting them
 * directly skips `JSON.stringify`'s C++ serialiser, about 70 ns a string; anything else goes to it.
 */
export function quoteString(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

// Record keys repeat on every record; quoting each once is measurably cheaper on the hot path.
const quoted = new Map<string, string>();
export function quoteKey(key: string): string {
  let text = quoted.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quoted.size < 1024) quoted.set(key, text);
  }
  return text;
}

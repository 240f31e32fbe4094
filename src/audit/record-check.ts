/**
 * Checks that a parsed line has the shape its record type promises, for readers that use the
 * fields (query, export, stats). A crafted or damaged line is reported, never allowed to throw
 * half-way through an export. Unknown record types pass with their chain fields checked, so a
 * newer writer's records still read.
 */
export function recordShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  const r = value;
  if (typeof r.seq !== 'number' || typeof r.chain !== 'string' || typeof r.hash !== 'string')
    return 'missing chain fields (chain, seq, hash)';
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return '`time` is not an RFC 3339 time';
  if (typeof r.type !== 'string') return '`type` is not a string';
  const wrong = (fields: Record<string, (v: unknown) => boolean>): string | undefined => {
    for (const [field, ok] of Object.entries(fields))
      if (!ok(r[field])) return `\`${field}\` has the wrong type`;
    return undefined;
  };
  switch (r.type) {
    case 'decision':
      return wrong({
        requestId: isString,
        actor: (v) =>
          v === null || (isObject(v) && isString(v.id) && (v.type === undefined || isString(v.type))),
        subject: (v) => v === null || isString(v),
        method: isString,
        route: isString,
        purpose: isString,
        categories: (v) => Array.isArray(v) && v.every(isString),
        operation: isString,
        basis: isString,
        consent: (v) =>
          v === null ||
          (isObject(v) &&
            isString(v.id) &&
            typeof v.noticeVersion === 'number' &&
            (v.type === undefined || isString(v.type))),
        decision: (v) => v === 'allow' || v === 'deny' || v === 'degrade',
        reason: isString,
        cause: (v) => v === undefined || isString(v),
        status: isNumber,
        enforcer: isEnforcer,
      });
    case 'outcome':
      return wrong({ requestId: isString, purpose: isString, status: isNumber, durationMs: isNumber });
    case 'dropped':
      return wrong({
        count: isNumber,
        outcomes: isNumber,
        from: isString,
        to: isString,
        cause: isString,
        enforcer: isEnforcer,
      });
    case 'writer_start':
    case 'writer_stop':
      return wrong({ enforcer: isEnforcer });
    default:
      return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function isString(value: unknown): value is string {
  return typeof value === 'string';
}
function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}
function isEnforcer(value: unknown): boolean {
  return isObject(value) && isString(value.service) && isString(value.instance) && isString(value.version);
}

/**
 * Field paths withheld from each guarded response, keyed by the request's guard outcome, so the
 * outcome record (written when the response finishes) can list them without widening any API.
 */
export const withheldPaths = new WeakMap<object, readonly string[]>();

import type { IncomingMessage } from 'node:http';
import type { HeaderReader } from '../consent/extract.js';
import { PiplConfigError } from '../errors/errors.js';
import {
  type ActorResolver,
  type GuardOutcome,
  type GuardRequest,
  idText,
  normalizeActor,
  type PiplContext,
} from '../guard/index.js';

/**
 * Finds the data subject in a framework request. A numeric id (a database key) counts as its decimal
 * text, like the token's `sub`; a list (e.g. a repeated path segment) counts as none.
 */
export type SubjectResolver<R> = (request: R) => string | number | readonly string[] | undefined;

/** A mount label: a path pattern the application wrote, e.g. `/tenants/:tenant`. */
const MOUNT_PATH = /^\/[\x21-\x7e]{0,255}$/;

/**
 * Validates an adapter's `mountPath` option once, at start-up, and returns the function that labels
 * a route pattern with it. The label and the pattern are configuration, never request text: a raw
 * matched URL would put clear-text ids into the audit log, spelled however the client chose.
 */
export function routeLabeller(mountPath: unknown): (pattern: string | undefined) => string | undefined {
  if (mountPath === undefined) return (pattern) => pattern;
  if (typeof mountPath !== 'string' || !MOUNT_PATH.test(mountPath)) {
    throw new PiplConfigError(
      'mountPath must be the pattern the router is mounted under, starting with "/" (e.g. "/tenants/:tenant"), at most 256 printable characters',
    );
  }
  const prefix = mountPath.endsWith('/') ? mountPath.slice(0, -1) : mountPath;
  return (pattern) => (pattern === undefined ? undefined : prefix + pattern);
}

/**
 * Reads a Node request's headers with every value the client sent: duplicates of `Authorization`
 * (which `req.headers` silently drops) or of the consent header come back as a list, and the token
 * extractor refuses them as `token_ambiguous`. Reads `req.rawHeaders` for the one name asked for:
 * `req.headersDistinct` would build (and lower-case) an object of every header on each request.
 */
export function nodeHeaderReader(req: IncomingMessage): HeaderReader {
  return function readHeader(name) {
    return rawHeaderValues(req.rawHeaders, name);
  };
}

/** Every value sent for `name` (lower case): one string, or a list when it was sent more than once. */
function rawHeaderValues(raw: readonly string[], name: string): string | string[] | undefined {
  let found: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length !== name.length || (key !== name && key.toLowerCase() !== name)) continue;
    const value = raw[i + 1] as string;
    if (found === undefined) found = value;
    else if (typeof found === 'string') found = [found, value];
    else found.push(value);
  }
  return found;
}

/**
 * The guard's view of one request, built the same way by every adapter. A resolver that throws
 * resolves nothing: with a declared subject resolver, that is a refusal (`subject_unresolved`).
 */
export function describeRequest<R>(
  request: R,
  http: { method: string; route: string | undefined; header: HeaderReader },
  resolve: { subject: SubjectResolver<R> | undefined; actor: ActorResolver<R> | undefined },
): GuardRequest {
  const subject = attempt(resolve.subject, request);
  return {
    method: http.method,
    route: http.route,
    header: http.header,
    subjectId: idText(subject),
    subjectDeclared: resolve.subject !== undefined,
    actor: normalizeActor(attempt(resolve.actor, request)),
  };
}

/** What the handler reads after a let-through decision. */
export function handlerContext(outcome: GuardOutcome): PiplContext {
  return {
    decision: outcome.decision,
    consent: outcome.consent,
    requestId: outcome.requestId,
    degraded: outcome.decision.effect === 'degrade',
  };
}

function attempt<R, T>(resolve: ((request: R) => T) | undefined, request: R): T | undefined {
  if (!resolve) return undefined;
  try {
    return resolve(request);
  } catch {
    return undefined;
  }
}

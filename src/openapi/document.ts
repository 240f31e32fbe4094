import { isDeepStrictEqual } from 'node:util';
import { type DenyReason, REASONS } from '../errors/codes.js';
import { PiplConfigError } from '../errors/errors.js';
import {
  exampleOf,
  headerComponents,
  PROBLEM_SCHEMA,
  problemSchema,
  responseForStatus,
  responseName,
  responseOf,
} from './components.js';
import { refusalsOf } from './reasons.js';
import type { GuardedRoute } from './routes.js';

/** An OpenAPI 3.1 document; only what this module reads or writes is typed. */
export interface OpenApiDocument {
  openapi: string;
  [key: string]: unknown;
}

export interface PiplOpenApiOptions {
  /** Guarded operations: from `expressRoutes(app)`, `koaRoutes(router)`, or listed by hand. */
  routes: readonly GuardedRoute[];
  /** Header the consent token travels in (default `pipl-consent`, the guard's default). */
  header?: string;
  /** Name of the `apiKey` security scheme (default `piplConsent`). */
  securityScheme?: string;
}

type Json = Record<string, unknown>;
type SecurityRequirement = Record<string, string[]>;

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * Describes the guarded routes in an OpenAPI 3.1 document, merged into `document` without
 * clobbering it (the input is not modified; a copy is returned):
 *
 * - `components.securitySchemes.<securityScheme>`: an `apiKey` in the consent header, required on
 *   consent-basis operations (added to each of the operation's existing security requirements; a
 *   purpose that degrades (Art. 16) also lists them without it, since the token is optional there);
 * - `components.schemas.PiplProblem` (RFC 9457), and `components.responses` / `examples` named
 *   `pipl.<code>`, one per reason code;
 * - per operation, one response per status the guard can answer with (a `$ref` when one code
 *   has that status, otherwise one response with an example per code); a status the document
 *   already describes is left as it is;
 * - per operation, `x-pipl`: purpose, categories, operation, lawful basis, sensitivity and the
 *   reason codes the route can be refused with.
 *
 * Throws `PiplConfigError` when the document is not 3.1 or already holds a different component
 * under one of these names.
 *
 * @example
 * ```ts
 * import { expressRoutes, withPiplOpenApi } from 'pipl-guard/openapi';
 * const document = withPiplOpenApi(
 *   { openapi: '3.1.0', info: { title: 'Shop API', version: '1.0.0' }, paths: {} },
 *   { routes: expressRoutes(app) },
 * );
 * ```
 */
export function withPiplOpenApi<D extends OpenApiDocument>(document: D, options: PiplOpenApiOptions): D {
  if (typeof document?.openapi !== 'string' || !document.openapi.startsWith('3.1.')) {
    throw new PiplConfigError('withPiplOpenApi: pass an OpenAPI 3.1 document (`openapi: "3.1.x"`)');
  }
  const schemeName = options.securityScheme ?? 'piplConsent';
  const out = structuredClone(document) as D & Json;
  const components = objectAt(out, 'components');
  put(objectAt(components, 'securitySchemes'), schemeName, {
    type: 'apiKey',
    in: 'header',
    name: options.header ?? 'pipl-consent',
    description:
      'Signed consent token (JWT, typ pipl-consent+jwt) naming the purposes the subject consented to',
  });
  put(objectAt(components, 'schemas'), PROBLEM_SCHEMA, problemSchema());
  const headers = objectAt(components, 'headers');
  for (const [name, header] of Object.entries(headerComponents())) put(headers, name, header);
  const responses = objectAt(components, 'responses');
  const examples = objectAt(components, 'examples');
  const paths = objectAt(out, 'paths');

  for (const route of options.routes) {
    const method = route.method.toLowerCase();
    if (!METHODS.has(method)) continue;
    const path = openApiPath(route.path);
    const pathItem = objectAt(paths, path);
    const operation = objectAt(pathItem, method);
    const refusals = refusalsOf(route.requirement, route.subject ?? false);
    for (const reason of refusals) {
      put(responses, responseName(reason), responseOf(reason));
      put(examples, responseName(reason), exampleOf(reason));
    }
    const operationResponses = objectAt(operation, 'responses');
    for (const [status, reasons] of byStatus(refusals)) {
      // The document's own description of a status wins; the codes are still listed in x-pipl.
      if (!(status in operationResponses)) operationResponses[status] = responseForStatus(reasons);
    }
    addPathParameters(path, pathItem, operation);
    if (route.requirement.purpose.basis === 'consent') {
      operation.security = securityFor(route, operation, out, schemeName);
    }
    operation['x-pipl'] = extensionOf(route, refusals);
  }
  return out;
}

function extensionOf(route: GuardedRoute, refusals: readonly DenyReason[]): Json {
  const { requirement } = route;
  const { purpose } = requirement;
  const extension: Json = {
    purpose: purpose.key,
    basis: purpose.basis,
    operation: requirement.operation,
    categories: [...requirement.categories],
    sensitive: requirement.sensitiveCategories.length > 0,
    sensitiveCategories: [...requirement.sensitiveCategories],
    necessaryForService: purpose.necessaryForService,
    onMissingConsent: purpose.onMissingConsent,
    refusals: [...refusals],
  };
  if (purpose.piaRef !== undefined) extension.piaRef = purpose.piaRef;
  if (requirement.recipient !== undefined) extension.recipient = requirement.recipient;
  if (requirement.crossBorder !== undefined) extension.crossBorder = { ...requirement.crossBorder };
  return extension;
}

/** The consent token is needed on top of whatever the operation already asks for (AND, not OR). */
function securityFor(route: GuardedRoute, operation: Json, document: Json, scheme: string) {
  const existing = (operation.security ?? document.security ?? []) as SecurityRequirement[];
  const base = existing.length > 0 ? existing : [{}];
  const requirements: SecurityRequirement[] = base.map((requirement) => ({ ...requirement, [scheme]: [] }));
  // Art. 16: a degrading purpose serves callers without a token too (without the personal data).
  if (route.requirement.purpose.onMissingConsent === 'degrade') {
    requirements.push(...base.map(({ [scheme]: _, ...rest }) => rest));
  }
  const seen = new Set<string>();
  return requirements.filter((requirement) => {
    const key = JSON.stringify(Object.entries(requirement).sort(([a], [b]) => a.localeCompare(b)));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byStatus(reasons: readonly DenyReason[]): Map<string, DenyReason[]> {
  const grouped = new Map<string, DenyReason[]>();
  for (const reason of reasons) {
    const status = String(REASONS[reason].status);
    grouped.set(status, [...(grouped.get(status) ?? []), reason]);
  }
  return grouped;
}

/** `/users/:id` → `/users/{id}`; `*rest` (Express 5 wildcard) → `{rest}`. OpenAPI paths pass as they are. */
export function openApiPath(path: string): string {
  if (/[{}]/.test(path.replace(/\{[A-Za-z0-9_]+\}/g, ''))) {
    throw new PiplConfigError(
      `withPiplOpenApi: optional segments are not supported in "${path}"; list the route by hand`,
    );
  }
  return path.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');
}

function addPathParameters(path: string, pathItem: Json, operation: Json): void {
  const declared = new Set<string>();
  for (const list of [pathItem.parameters, operation.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const parameter of list as Json[]) {
      if (parameter.in === 'path' && typeof parameter.name === 'string') declared.add(parameter.name);
      // A $ref'd parameter may be the path parameter: leave the operation alone rather than guess.
      if (typeof parameter.$ref === 'string') return;
    }
  }
  for (const [, name] of path.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
    if (name === undefined || declared.has(name)) continue;
    const parameters = Array.isArray(operation.parameters) ? (operation.parameters as Json[]) : [];
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    operation.parameters = parameters;
  }
}

function objectAt(parent: Json, key: string): Json {
  const value = parent[key];
  if (value === undefined) {
    const created: Json = {};
    parent[key] = created;
    return created;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PiplConfigError(`withPiplOpenApi: "${key}" in the document is not an object`);
  }
  return value as Json;
}

/** Adds a component; one already there must be the same, or the document meant something else. */
function put(parent: Json, name: string, value: unknown): void {
  if (!(name in parent)) {
    parent[name] = value;
    return;
  }
  if (!isDeepStrictEqual(parent[name], value)) {
    throw new PiplConfigError(
      `withPiplOpenApi: the document already has a different "${name}" component; rename yours or pass another name`,
    );
  }
}

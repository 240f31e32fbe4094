import { type DenyReason, REASONS, type ReasonCode } from '../errors/codes.js';
import { PiplGuardError, PROBLEM_TYPE_BASE } from '../errors/errors.js';

export const PROBLEM_SCHEMA = 'PiplProblem';
export const responseName = (reason: DenyReason) => `pipl.${reason}`;
export const HEADER = {
  challenge: 'pipl.www-authenticate',
  retryAfter: 'pipl.retry-after',
  cacheControl: 'pipl.cache-control',
} as const;

const DENY_REASONS = (Object.keys(REASONS) as ReasonCode[]).filter(
  (code): code is DenyReason => REASONS[code].effect === 'deny',
);

/** RFC 9457 problem details as the guard sends them (`PiplGuardError.toProblem()`). */
export function problemSchema(): Record<string, unknown> {
  return {
    type: 'object',
    description: 'RFC 9457 problem details for a request pipl-guard refused. `code` is stable API.',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', format: 'uri', description: `${PROBLEM_TYPE_BASE}<code>` },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string', enum: DENY_REASONS },
      requestId: { type: 'string', description: 'Also in the audit record of this request' },
    },
  };
}

export function headerComponents(): Record<string, unknown> {
  return {
    [HEADER.challenge]: {
      description: 'RFC 6750 §3 challenge on consent-token problems',
      schema: { type: 'string' },
    },
    [HEADER.retryAfter]: {
      description: 'Seconds to wait before retrying (infrastructure refusals)',
      schema: { type: 'string', pattern: '^[0-9]+$' },
    },
    [HEADER.cacheControl]: { description: 'Refusals are never cached', schema: { const: 'no-store' } },
  };
}

/** Headers a refusal with this code carries (see `createRefusals`). */
export function refusalHeaders(reason: DenyReason): Record<string, { $ref: string }> {
  const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
  const headers: Record<string, { $ref: string }> = { 'Cache-Control': ref(HEADER.cacheControl) };
  const status = REASONS[reason].status;
  if (status === 401 || reason === 'token_ambiguous') headers['WWW-Authenticate'] = ref(HEADER.challenge);
  if (status === 503) headers['Retry-After'] = ref(HEADER.retryAfter);
  return headers;
}

/** The body the guard sends for this code, as an OpenAPI example. */
export function exampleOf(reason: DenyReason): Record<string, unknown> {
  return {
    summary: REASONS[reason].title,
    value: new PiplGuardError(reason).toProblem('0190c2a4-7b1e-7000-8000-000000000000'),
  };
}

/** The reusable response for one reason code. */
export function responseOf(reason: DenyReason): Record<string, unknown> {
  return {
    description: `${REASONS[reason].title} (\`${reason}\`)`,
    headers: refusalHeaders(reason),
    content: {
      'application/problem+json': {
        schema: {
          allOf: [{ $ref: `#/components/schemas/${PROBLEM_SCHEMA}` }],
          properties: { code: { const: reason }, status: { const: REASONS[reason].status } },
        },
        examples: { [reason]: { $ref: `#/components/examples/${responseName(reason)}` } },
      },
    },
  };
}

/** One status answered with several reason codes: one response, one example per code. */
export function responseForStatus(reasons: readonly DenyReason[]): Record<string, unknown> {
  const [first] = reasons;
  if (first !== undefined && reasons.length === 1)
    return { $ref: `#/components/responses/${responseName(first)}` };
  const headers: Record<string, { $ref: string }> = {};
  for (const reason of reasons) Object.assign(headers, refusalHeaders(reason));
  return {
    description: `Refused by pipl-guard: ${reasons.map((r) => `\`${r}\``).join(', ')}`,
    headers,
    content: {
      'application/problem+json': {
        schema: {
          allOf: [{ $ref: `#/components/schemas/${PROBLEM_SCHEMA}` }],
          properties: { code: { enum: [...reasons] } },
        },
        examples: Object.fromEntries(
          reasons.map((r) => [r, { $ref: `#/components/examples/${responseName(r)}` }]),
        ),
      },
    },
  };
}

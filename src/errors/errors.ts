import { type DenyReason, REASONS } from './codes.js';

const BRAND = Symbol.for('pipl-guard.error');

/** RFC 9457 problem details as pipl-guard sends them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: DenyReason;
  /** Correlates the response with its audit record. */
  requestId?: string;
}

/** Base URI of problem types; each code has its own `type`. */
export const PROBLEM_TYPE_BASE = 'https://pipl-guard.dev/problems/';

/**
 * A denied request. Carries `status`/`statusCode`/`expose`/`headers` so Express's finalhandler and
 * Koa's `ctx.onerror` render it, and a stable `code`. The message never contains a token, key or
 * raw subject id.
 */
export class PiplGuardError extends Error {
  readonly [BRAND] = true;
  readonly code: DenyReason;
  readonly status: number;
  readonly statusCode: number;
  readonly expose = true;
  readonly headers: Record<string, string>;
  /** The request this denial belongs to; matches its audit record. Set by the guard. */
  requestId: string | undefined;

  constructor(code: DenyReason, detail?: string, headers: Record<string, string> = {}) {
    super(detail ?? REASONS[code].title);
    this.name = 'PiplGuardError';
    this.code = code;
    this.status = REASONS[code].status;
    this.statusCode = this.status;
    this.headers = headers;
  }

  /** The RFC 9457 body for this error. */
  toProblem(requestId: string | undefined = this.requestId): ProblemDetails {
    const problem: ProblemDetails = {
      type: PROBLEM_TYPE_BASE + this.code,
      title: REASONS[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
    };
    if (requestId !== undefined) problem.requestId = requestId;
    return problem;
  }
}

/** Thrown at start-up when the policy, a route requirement or an option is wrong. */
export class PiplConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'PiplConfigError';
  }
}

/** True for a {@link PiplGuardError}, also across realms and duplicate package copies. */
export function isPiplGuardError(value: unknown): value is PiplGuardError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

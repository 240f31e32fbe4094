import { type DenyReason, REASONS } from './codes.js';

/** Brand of {@link PiplGuardError}; a registered symbol, so it survives duplicate package copies. */
const BRAND = Symbol.for('pipl-guard.error');
/** Brand of every pipl-guard error, denial or configuration. */
const BASE_BRAND = Symbol.for('pipl-guard.error.base');

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
 * The base of every error pipl-guard throws: a stable `code` (API, never renamed) and a brand, so
 * {@link isPiplError} works across realms and duplicate package copies where `instanceof` does not.
 *
 * @example
 * ```ts
 * try {
 *   definePolicy(input);
 * } catch (error) {
 *   if (isPiplError(error)) console.error(error.code, error.message); // 'config_invalid', what to change
 * }
 * ```
 */
export abstract class PiplError<Code extends string = string> extends Error {
  readonly [BASE_BRAND] = true;
  abstract readonly code: Code;
}

/**
 * A denied request. Carries `status`/`statusCode`/`expose`/`headers` so Express's finalhandler and
 * Koa's `ctx.onerror` render it, and a stable `code`. The message never contains a token, key or
 * raw subject id.
 */
export class PiplGuardError extends PiplError<DenyReason> {
  readonly [BRAND] = true;
  readonly code: DenyReason;
  readonly status: number;
  readonly statusCode: number;
  readonly expose = true;
  readonly headers: Record<string, string>;
  /** The request this denial belongs to; matches its audit record. Set by the guard. */
  requestId: string | undefined;

  constructor(code: DenyReason, detail?: string, headers: Record<string, string> = {}) {
    // A denial is an answer, not a bug: no stack trace is captured, so none can reach a response
    // (Express's default handler prints `err.stack` outside production) and attacks stay cheap.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail ?? REASONS[code].title);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'PiplGuardError';
    this.stack = `${this.name}: ${this.message}`;
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
export class PiplConfigError extends PiplError<'config_invalid'> {
  readonly code = 'config_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'PiplConfigError';
  }
}

/** True for any pipl-guard error ({@link PiplGuardError}, {@link PiplConfigError}), across realms too. */
export function isPiplError(value: unknown): value is PiplError {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BASE_BRAND] === true
  );
}

/** True for a {@link PiplGuardError}, also across realms and duplicate package copies. */
export function isPiplGuardError(value: unknown): value is PiplGuardError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Response } from 'express';
import type { PiplContext } from '../guard/types.js';

export {
  createDecorators,
  type DecoratedRequirement,
  PiplExempt,
} from '../decorators/index.js';
export { PiplProblemFilter } from './filter.js';
export { PiplNestGuard } from './guard.js';
export { PiplModule, type PiplModuleAsyncOptions } from './module.js';
export { PIPL_OPTIONS, type PiplModuleOptions } from './options.js';

/**
 * Parameter decorator: the guard's decision for this request (`PiplContext`: decision, consent,
 * requestId, degraded), as `res.locals.pipl` holds it.
 *
 * @example
 * ```ts
 * @Get(':id/records') records(@PiplDecision() pipl: PiplContext) { return { degraded: pipl.degraded }; }
 * ```
 */
export const PiplDecision: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): PiplContext | undefined =>
    context.switchToHttp().getResponse<Response>().locals?.pipl,
);

export {
  type ControllerDefaults,
  createDecorators,
  type DecoratedRequirement,
  type PiplDecorators,
} from './create.js';
export {
  type ExpressRouterLike,
  expressMethodGuard,
  markedExpressGuard,
  mountExpressController,
} from './express.js';
export { type KoaRouterLike, koaMethodGuard, markedKoaGuard, mountKoaController } from './koa.js';
export { type DecisionMarker, enterMarked, guardMissing } from './marker.js';
export type { PiplClassDecorator, PiplMethodDecorator } from './modes.js';
export type { AnyClass, AnyMethod, AnySubjectResolver, HttpMethod, MethodEntry } from './registry.js';
export { decoratedMethods, entryOf } from './registry.js';
export { checkClass, type ResolvedMethod, resolveMethod } from './resolve.js';
export { PiplExempt, Route } from './route.js';

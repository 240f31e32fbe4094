/**
 * `pipl-guard/decorators`: route-level requirements on controller classes, in standard (TC39) and
 * legacy `experimentalDecorators` mode, mounted on Express or @koa/router through the same guard as
 * the middleware API. NestJS, routing-controllers and Midway have their own subpaths.
 */
export {
  type ControllerDefaults,
  createDecorators,
  type DecoratedRequirement,
  type PiplDecorators,
} from './create.js';
export { type ExpressRouterLike, mountExpressController } from './express.js';
export { type KoaRouterLike, mountKoaController } from './koa.js';
export type { PiplClassDecorator, PiplMethodDecorator } from './modes.js';
export type { AnyClass, AnyMethod, AnySubjectResolver, HttpMethod, MethodEntry } from './registry.js';
export { PiplExempt, Route } from './route.js';

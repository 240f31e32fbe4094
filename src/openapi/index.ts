export { type OpenApiDocument, type PiplOpenApiOptions, withPiplOpenApi } from './document.js';
export { refusalsOf } from './reasons.js';
export { expressRoutes, type GuardedRoute, koaRoutes } from './routes.js';

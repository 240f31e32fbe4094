export { filterByScope, type ScopeResult } from './filter.js';
export { compileScope, type PiiMeta, pii, type ScopeNode, schemaCategories } from './schema-scope.js';

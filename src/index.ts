export * from './audit/index.js';
export * from './consent/index.js';
export * from './decide/index.js';
export * from './errors/index.js';
export * from './guard/index.js';
export * from './policy/index.js';
export * from './subject/index.js';
export * from './taxonomy/index.js';
export { VERSION } from './version.js';

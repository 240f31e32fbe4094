export { type Decision, type DecisionContext, decide, refuse } from './decide.js';

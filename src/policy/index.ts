export {
  definePolicy,
  type Policy,
  type PolicyInput,
  type Purpose,
  type PurposeInput,
} from './define-policy.js';
export {
  compileRequirement,
  type Requirement,
  RIGHTS_REQUESTS,
  type RightsRequest,
  type RouteRequirement,
} from './requirement.js';
export type { Transfer, TransferInput } from './transfers.js';

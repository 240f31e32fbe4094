import type { CategoryDefinition, Operation } from '../taxonomy/taxonomy.js';
import type { PolicySpec, PurposeSpec } from './schema.js';

/** Operations that need an impact assessment whatever the categories (Art. 55(1)(3)(4)). */
const PIA_OPERATIONS: ReadonlySet<Operation> = new Set(['provide', 'disclose', 'cross_border', 'entrust']);

/**
 * The start-up rules of one purpose that need more than its schema. Pushes what to change onto
 * `problems`; returns whether the purpose touches sensitive PI (children's PI included).
 */
export function checkPurpose(
  key: string,
  purpose: PurposeSpec,
  notice: PolicySpec['notice'],
  categories: ReadonlyMap<string, CategoryDefinition>,
  isSensitive: (category: string) => boolean,
  problems: string[],
): boolean {
  const at = `purposes.${key}`;
  for (const category of purpose.categories) {
    if (!categories.has(category)) {
      problems.push(`${at}: unknown category "${category}"; declare it under policy.categories`);
    }
  }
  // Art. 28: all personal information of a child under 14 is sensitive.
  const touchesSensitive = purpose.categories.some(isSensitive) || purpose.childrenUnder14 === true;
  const piaOperation = purpose.operations.find((operation) => PIA_OPERATIONS.has(operation));
  if (!purpose.piaRef) {
    if (touchesSensitive) {
      problems.push(`${at}: touches sensitive PI, so set piaRef to its impact assessment (Art. 55(1))`);
    } else if (piaOperation) {
      problems.push(
        `${at}: operation "${piaOperation}" needs piaRef, an impact assessment reference (Art. 55)`,
      );
    } else if (purpose.personalization) {
      problems.push(
        `${at}: automated personalisation needs piaRef, an impact assessment reference (Art. 55(2))`,
      );
    }
  }
  if (purpose.onMissingConsent === 'degrade') {
    if (purpose.basis !== 'consent') {
      problems.push(`${at}: onMissingConsent "degrade" only applies to basis "consent"`);
    }
    if (purpose.necessaryForService) {
      problems.push(
        `${at}: a purpose necessary for the service cannot degrade; set necessaryForService: false or remove onMissingConsent`,
      );
    }
  }
  if (purpose.audit?.onFailure === 'fail_open' && touchesSensitive) {
    problems.push(`${at}: sensitive PI cannot be processed unaudited; remove audit.onFailure "fail_open"`);
  }
  // Art. 38(1): the company, not the subject's token, vouches for every transfer's mechanism.
  const crossBorder = purpose.operations.includes('cross_border');
  if (crossBorder && !purpose.transfers?.length) {
    problems.push(
      `${at}: operation "cross_border" needs transfers: [{ country, recipient, mechanism, reference, validFrom, validUntil }] (Art. 38)`,
    );
  }
  if (!crossBorder && purpose.transfers?.length) {
    problems.push(`${at}: transfers are declared but "cross_border" is not among the operations`);
  }
  for (const transfer of purpose.transfers ?? []) {
    if (transfer.exemption === 'below_threshold' && touchesSensitive) {
      problems.push(
        `${at}: the below-threshold exemption (2024 Provisions Art. 5(4)) does not cover sensitive PI; declare a standard contract, certification or security assessment`,
      );
    }
  }
  // Art. 21: a processor is entrusted under a contract the policy names.
  const entrust = purpose.operations.includes('entrust');
  if (entrust && !purpose.processors?.length) {
    problems.push(`${at}: operation "entrust" needs processors: [{ name, contractRef }] (Art. 21)`);
  }
  if (!entrust && purpose.processors?.length) {
    problems.push(`${at}: processors are declared but "entrust" is not among the operations`);
  }
  if (purpose.changedAt !== undefined && purpose.noticeVersion !== undefined) {
    problems.push(`${at}: set changedAt or its old name noticeVersion, not both`);
  }
  if (purpose.changedAt !== undefined && purpose.changedAt > notice.version) {
    problems.push(`${at}: changedAt ${purpose.changedAt} is later than the notice version ${notice.version}`);
  }
  return touchesSensitive;
}

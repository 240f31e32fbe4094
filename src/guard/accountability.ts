import type { DecisionEvent, PolicyEvent } from '../audit/record.js';
import type { VerifiedConsent } from '../consent/claims.js';
import type { Decision } from '../decide/decide.js';
import type { Policy } from '../policy/define-policy.js';
import type { Requirement } from '../policy/requirement.js';

/**
 * Adds to a decision record what proves accountability (Art. 23, 39, 55–56, 69): the policy digest,
 * the impact assessment, who received the PI, where it went and under which mechanism, and the
 * consent's notice, time and guardian. Only references: never PI beyond the pseudonymised ids.
 */
export function addAccountability(
  event: DecisionEvent,
  requirement: Requirement,
  decision: Decision,
  consent: VerifiedConsent | undefined,
  pseudonymize: (id: string) => string,
  policyDigest: string,
): void {
  event.policy = policyDigest;
  const { purpose } = requirement;
  if (purpose.piaRef !== undefined) event.piaRef = purpose.piaRef;
  if (requirement.operation === 'provide' && requirement.recipient !== undefined) {
    event.recipient = { name: requirement.recipient, role: 'handler' };
  }
  if (requirement.processor !== undefined) {
    event.recipient = {
      name: requirement.processor.name,
      role: 'processor',
      contractRef: requirement.processor.contractRef,
    };
  }
  if (requirement.crossBorder !== undefined) {
    const transfer: NonNullable<DecisionEvent['transfer']> = {
      country: requirement.crossBorder.country,
      recipient: requirement.crossBorder.recipient,
      // Art. 28: a child's PI is sensitive, so it counts towards the sensitive-PI threshold.
      sensitive:
        requirement.sensitiveCategories.length > 0 ||
        purpose.childrenUnder14 ||
        consent?.ageBand === 'under14',
    };
    if (decision.transfer !== undefined) {
      transfer.mechanism = decision.transfer.mechanism;
      if (decision.transfer.exemption !== undefined) transfer.exemption = decision.transfer.exemption;
      transfer.reference = decision.transfer.reference;
    }
    event.transfer = transfer;
  }
  if (event.consent !== null && consent !== undefined) {
    event.consent.noticeId = consent.notice.id;
    if (decision.givenAt !== undefined) event.consent.givenAt = decision.givenAt;
    if (consent.guardian !== undefined) event.consent.guardian = pseudonymize(consent.guardian.id);
  }
}

/** The record that holds the policy text once per writer start. */
export function policyEvent(policy: Policy, enforcer: PolicyEvent['enforcer']): PolicyEvent {
  return {
    type: 'policy',
    digest: policy.digest,
    notice: { id: policy.notice.id, version: policy.notice.version },
    policy: JSON.parse(policy.text) as Record<string, unknown>,
    enforcer,
  };
}

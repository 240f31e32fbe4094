import type { ConsentLink, DecisionEvent, PolicyEvent } from '../audit/record.js';
import type { VerifiedConsent } from '../consent/claims.js';
import type { Decision } from '../decide/decide.js';
import type { Policy } from '../policy/define-policy.js';
import type { Requirement } from '../policy/requirement.js';

/**
 * Adds to a decision record what proves accountability (Art. 23, 39, 55–56, 69): the policy digest,
 * the impact assessment, who received the PI, where it went and under which mechanism (the consent's
 * notice, time and guardian are in its link, see consentLinks). Only references: never PI beyond the
 * pseudonymised ids.
 */
export function addAccountability(
  event: DecisionEvent,
  requirement: Requirement,
  decision: Decision,
  consent: VerifiedConsent | undefined,
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
}

/**
 * Builds the consent links of one audit trail's decision records. A link is frozen and kept with the
 * verified consent it came from (the verifier cache hands the same object to every request with
 * that token), so requests on one token share one link, which the audit chain serialises once, and
 * the guardian is pseudonymised once.
 */
export function consentLinks(pseudonymize: (id: string) => string) {
  const built = new WeakMap<VerifiedConsent, Readonly<ConsentLink>[]>();

  function build(decision: Decision, consentId: string, consent: VerifiedConsent | undefined): ConsentLink {
    const link: ConsentLink = { id: consentId, noticeVersion: decision.noticeVersion ?? 0 };
    if (decision.consentType) link.type = decision.consentType;
    if (consent !== undefined) {
      link.noticeId = consent.notice.id;
      if (decision.givenAt !== undefined) link.givenAt = decision.givenAt;
      if (consent.guardian !== undefined) link.guardian = pseudonymize(consent.guardian.id);
    }
    return link;
  }

  /** The consent the decision rests on (Art. 14, 17, 31), or null when it rests on none. */
  return function consentLink(
    decision: Decision,
    consent: VerifiedConsent | undefined,
  ): Readonly<ConsentLink> | null {
    const consentId = decision.consentId;
    if (consentId === undefined) return null;
    if (consent === undefined || consent.id !== consentId) return build(decision, consentId, consent);
    let known = built.get(consent);
    for (const link of known ?? []) {
      if (
        link.noticeVersion === (decision.noticeVersion ?? 0) &&
        link.type === decision.consentType &&
        link.givenAt === decision.givenAt
      )
        return link;
    }
    const link = Object.freeze(build(decision, consentId, consent));
    if (!known) {
      known = [];
      built.set(consent, known);
    }
    if (known.length < 8) known.push(link); // one per grant the token's requests use
    return link;
  };
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

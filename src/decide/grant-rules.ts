import type { Grant, VerifiedConsent } from '../consent/claims.js';
import type { ReasonCode } from '../errors/codes.js';
import type { Requirement } from '../policy/requirement.js';
import type { ConsentType, Operation } from '../taxonomy/taxonomy.js';

/**
 * Consent types that are an adult's (or 14–18-year-old's) separate consent (Art. 29). `guardian` is
 * not among them: a guardian consents for a child under 14 (Art. 31), never in an adult's place.
 */
const SEPARATE: ReadonlySet<ConsentType> = new Set<ConsentType>(['separate', 'written']);
/** Operations whose own article asks for separate consent, with the code naming that article. */
const SEPARATE_FOR: ReadonlyMap<Operation, ReasonCode> = new Map<Operation, ReasonCode>([
  ['provide', 'provision_separate_consent_required'], // Art. 23
  ['disclose', 'disclosure_separate_consent_required'], // Art. 25
  ['cross_border', 'cross_border_separate_consent_required'], // Art. 39
]);

/** Checks one grant against the route; `undefined` when it covers it, else the first gap's code. */
export function checkGrant(
  requirement: Requirement,
  consent: VerifiedConsent,
  grant: Grant,
): ReasonCode | undefined {
  // Art. 21: entrusted processing stays inside the consented purpose and categories; it is the
  // handler's own processing, so the grant need not list `entrust` and no separate consent is asked.
  if (requirement.operation !== 'entrust' && !grant.ops.includes(requirement.operation))
    return 'operation_not_granted';
  for (const category of requirement.categories) {
    if (!grant.categories.includes(category)) return 'category_not_granted';
  }
  const { purpose } = requirement;
  // Art. 28, 31: all PI of a child under 14 is sensitive and needs the guardian's consent.
  if (consent.ageBand === 'under14' || purpose.childrenUnder14) {
    if (grant.consentType !== 'guardian' || consent.guardian === undefined)
      return 'guardian_consent_required';
    if (purpose.writtenConsent && consent.guardian.method !== 'written') return 'written_consent_required';
  } else {
    if (requirement.sensitiveCategories.length > 0) {
      // Art. 29: sensitive PI needs separate consent, written where a law says so.
      if (!SEPARATE.has(grant.consentType)) return 'sensitive_separate_consent_required';
      if (purpose.writtenConsent && grant.consentType !== 'written') return 'written_consent_required';
    }
    const separate = SEPARATE_FOR.get(requirement.operation);
    if (separate !== undefined && !SEPARATE.has(grant.consentType)) return separate;
  }
  if (requirement.operation === 'provide') {
    // Art. 23: the subject must know, and separately consent to, who receives the data.
    const recipient = requirement.recipient;
    if (!grant.recipients?.some((r) => r.name === recipient)) return 'recipient_not_granted';
  }
  if (requirement.operation === 'cross_border') {
    // Art. 39: the consent names the overseas recipient and country. Its `mechanism` is not read.
    const wanted = requirement.crossBorder;
    const given = grant.crossBorder;
    if (!wanted || !given || given.country !== wanted.country || given.recipient !== wanted.recipient) {
      return 'cross_border_not_granted';
    }
  }
  return undefined;
}

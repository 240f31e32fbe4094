import type { VerifiedConsent } from '../consent/claims.js';
import { REASONS, type ReasonCode } from '../errors/codes.js';
import type { Requirement } from '../policy/requirement.js';
import type { ConsentType, LegalBasis, Operation } from '../taxonomy/taxonomy.js';

/** The guard's verdict on one request. Decisions are data: every one carries a stable reason code. */
export interface Decision {
  readonly effect: 'allow' | 'deny' | 'degrade';
  readonly reason: ReasonCode;
  /** HTTP status the guard answers with when it denies; 200 when the handler runs. */
  readonly status: number;
  readonly purpose: string;
  readonly basis: LegalBasis;
  readonly operation: Operation;
  readonly categories: readonly string[];
  /** For `degrade`: the consent problem that caused it. */
  readonly cause?: ReasonCode;
  /** Consent record id (`jti`) the decision rests on, if any. */
  readonly consentId?: string;
  readonly noticeVersion?: number;
  readonly consentType?: ConsentType;
}

/** What the request says about the data subject, besides the token. */
export interface DecisionContext {
  /** Subject the route resolved from the request (path, body...). `undefined` when the route names none. */
  readonly subjectId: string | undefined;
  /** The route declared a subject resolver; if it resolved nothing, the request is refused. */
  readonly subjectDeclared: boolean;
  /** The consent id was found on the withdrawal list. */
  readonly withdrawn: boolean;
  /** The policy's privacy notice id; consent under another notice needs re-consent. */
  readonly noticeId: string;
  /** The subject's server-side opt-outs (preference store), applied whatever the lawful basis. */
  readonly optedOut?: { readonly personalization: boolean; readonly marketing: boolean };
}

/** Consent problems an Art. 16 `degrade` purpose answers by running the handler without the data. */
const DEGRADABLE: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'consent_required',
  'consent_withdrawn',
  'reconsent_required',
  'purpose_not_granted',
  'operation_not_granted',
  'category_not_granted',
  'separate_consent_required',
  'written_consent_required',
  'guardian_consent_required',
  'recipient_not_granted',
  'cross_border_not_granted',
]);

/** Consent types that count as separate consent (Art. 23, 25, 29, 39). */
const SEPARATE: ReadonlySet<ConsentType> = new Set<ConsentType>(['separate', 'written', 'guardian']);
const NEEDS_SEPARATE: ReadonlySet<Operation> = new Set<Operation>(['provide', 'disclose', 'cross_border']);

/**
 * Decides one request. Pure: the same requirement, consent and context always give the same decision.
 * `consent` must already be verified (signature, claims, schema); withdrawal is passed in `context`.
 */
export function decide(
  requirement: Requirement,
  consent: VerifiedConsent | undefined,
  context: DecisionContext,
): Decision {
  const { purpose } = requirement;
  if (purpose.basis !== 'consent') {
    // Art. 24(2): the right to refuse personalisation does not depend on consent.
    return optedOut(requirement, context, consent) ?? verdict(requirement, 'lawful_basis', consent);
  }
  if (consent === undefined) {
    if (context.subjectDeclared && context.subjectId === undefined)
      return verdict(requirement, 'subject_unresolved');
    return orDegrade(requirement, 'consent_required');
  }
  // A token for subject A never unlocks subject B.
  if (context.subjectDeclared) {
    if (context.subjectId === undefined) return verdict(requirement, 'subject_unresolved', consent);
    if (context.subjectId !== consent.subject) return verdict(requirement, 'subject_mismatch', consent);
  }
  if (context.withdrawn) return orDegrade(requirement, 'consent_withdrawn', consent);
  // Art. 14: a change of notice (purpose, method, categories) needs new consent.
  if (consent.notice.id !== context.noticeId || consent.notice.version < purpose.noticeVersion) {
    return orDegrade(requirement, 'reconsent_required', consent);
  }

  let failure: ReasonCode = 'purpose_not_granted';
  for (const grant of consent.grants) {
    if (grant.purpose !== purpose.key) continue;
    const reason = checkGrant(requirement, consent, grant);
    if (reason === undefined) {
      // Art. 24: personalised processing stops when the subject opts out (token or preference store).
      const refused = optedOut(requirement, context, consent, grant.consentType);
      if (refused) return refused;
      if (purpose.personalization && !consent.personalization) {
        const optOut =
          purpose.onMissingConsent === 'degrade'
            ? 'degraded_personalization_opt_out'
            : 'personalization_opted_out';
        return verdict(requirement, optOut, consent, grant.consentType);
      }
      return verdict(requirement, 'consent_valid', consent, grant.consentType);
    }
    failure = reason;
  }
  return orDegrade(requirement, failure, consent);
}

function checkGrant(
  requirement: Requirement,
  consent: VerifiedConsent,
  grant: VerifiedConsent['grants'][number],
): ReasonCode | undefined {
  if (!grant.ops.includes(requirement.operation)) return 'operation_not_granted';
  for (const category of requirement.categories) {
    if (!grant.categories.includes(category)) return 'category_not_granted';
  }
  const { purpose } = requirement;
  // Art. 28, 31: all PI of a child under 14 is sensitive and needs the guardian's consent.
  if (consent.ageBand === 'under14' || purpose.childrenUnder14) {
    if (grant.consentType !== 'guardian' || consent.guardian === undefined)
      return 'guardian_consent_required';
    if (purpose.writtenConsent && consent.guardian.method !== 'written') return 'written_consent_required';
  } else if (requirement.sensitiveCategories.length > 0) {
    // Art. 29: sensitive PI needs separate consent, written where a law says so.
    if (purpose.writtenConsent && grant.consentType !== 'written') {
      return SEPARATE.has(grant.consentType) ? 'written_consent_required' : 'separate_consent_required';
    }
    if (!SEPARATE.has(grant.consentType)) return 'separate_consent_required';
  }
  if (NEEDS_SEPARATE.has(requirement.operation) && !SEPARATE.has(grant.consentType))
    return 'separate_consent_required';
  if (requirement.operation === 'provide') {
    // Art. 23: the subject must know, and separately consent to, who receives the data.
    const recipient = requirement.recipient;
    if (!grant.recipients?.some((r) => r.name === recipient)) return 'recipient_not_granted';
  }
  if (requirement.operation === 'cross_border') {
    // Art. 38–39: the consent names the overseas recipient and country; the schema requires a mechanism.
    const wanted = requirement.crossBorder;
    const given = grant.crossBorder;
    if (!wanted || !given || given.country !== wanted.country || given.recipient !== wanted.recipient) {
      return 'cross_border_not_granted';
    }
  }
  return undefined;
}

/** The subject's stored opt-out of personalisation or marketing, if it applies to this purpose. */
function optedOut(
  requirement: Requirement,
  context: DecisionContext,
  consent?: VerifiedConsent,
  consentType?: ConsentType,
): Decision | undefined {
  const { purpose } = requirement;
  const degrade = purpose.onMissingConsent === 'degrade';
  if (purpose.personalization && context.optedOut?.personalization) {
    const reason = degrade ? 'degraded_personalization_opt_out' : 'personalization_opted_out';
    return verdict(requirement, reason, consent, consentType);
  }
  if (purpose.marketing && context.optedOut?.marketing) {
    return verdict(
      requirement,
      degrade ? 'degraded_marketing_opt_out' : 'marketing_opted_out',
      consent,
      consentType,
    );
  }
  return undefined;
}

/** A decision for a request stopped before the rules ran: bad token, unavailable keys or log. */
export function refuse(requirement: Requirement, reason: ReasonCode, consent?: VerifiedConsent): Decision {
  return verdict(requirement, reason, consent);
}

function orDegrade(requirement: Requirement, reason: ReasonCode, consent?: VerifiedConsent): Decision {
  if (requirement.purpose.onMissingConsent === 'degrade' && DEGRADABLE.has(reason)) {
    return verdict(requirement, 'degraded_no_consent', consent, undefined, reason);
  }
  return verdict(requirement, reason, consent);
}

function verdict(
  requirement: Requirement,
  reason: ReasonCode,
  consent?: VerifiedConsent,
  consentType?: ConsentType,
  cause?: ReasonCode,
): Decision {
  const spec = REASONS[reason];
  const decision: {
    -readonly [K in keyof Decision]: Decision[K];
  } = {
    effect: spec.effect,
    reason,
    status: spec.status,
    purpose: requirement.purpose.key,
    basis: requirement.purpose.basis,
    operation: requirement.operation,
    categories: requirement.categories,
  };
  if (cause !== undefined) decision.cause = cause;
  if (consent !== undefined) {
    decision.consentId = consent.id;
    decision.noticeVersion = consent.notice.version;
  }
  if (consentType !== undefined) decision.consentType = consentType;
  return decision;
}

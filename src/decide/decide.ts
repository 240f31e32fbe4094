import type { Grant, VerifiedConsent } from '../consent/claims.js';
import { REASONS, type ReasonCode } from '../errors/codes.js';
import type { Requirement } from '../policy/requirement.js';
import { checkTransfer, type Transfer } from '../policy/transfers.js';
import type { ConsentType, LegalBasis, Operation } from '../taxonomy/taxonomy.js';
import { checkGrant } from './grant-rules.js';

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
  /** When the grant the decision rests on was given, epoch seconds (Art. 14, 69 evidence). */
  readonly givenAt?: number;
  /** For `cross_border`: the declared transfer whose mechanism is valid now (Art. 38). */
  readonly transfer?: Transfer;
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
  /** The guard's clock, epoch ms: transfer mechanisms must be valid at this instant. Default `Date.now()`. */
  readonly now?: number;
  /** Role (`actor.type`) of who makes the request, for Art. 51(4) allow-lists. */
  readonly actorRole?: string | undefined;
  /** Art. 27: the subject explicitly refused processing of their disclosed information for this purpose. */
  readonly publicInfoRefused?: boolean;
  /** The subject's server-side opt-outs (preference store), applied whatever the lawful basis. */
  readonly optedOut?: { readonly personalization: boolean; readonly marketing: boolean };
}

/** Consent problems an Art. 16 `degrade` purpose answers by running the handler without the data. */
export const DEGRADABLE: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'consent_required',
  'consent_withdrawn',
  'reconsent_required',
  'purpose_not_granted',
  'operation_not_granted',
  'category_not_granted',
  'sensitive_separate_consent_required',
  'provision_separate_consent_required',
  'disclosure_separate_consent_required',
  'cross_border_separate_consent_required',
  'written_consent_required',
  'guardian_consent_required',
  'recipient_not_granted',
  'cross_border_not_granted',
]);

/**
 * Decides one request. Pure: the same requirement, consent and context always give the same decision.
 * `consent` must already be verified (signature, claims, schema); withdrawal is passed in `context`.
 *
 * @example
 * ```ts
 * const requirement = compileRequirement(policy, 'health.records', { operation: 'use' });
 * const decision = decide(requirement, consent, {
 *   subjectId: 'u42', subjectDeclared: true, withdrawn: false, noticeId: policy.notice.id,
 * });
 * if (decision.effect === 'deny') console.log(decision.reason);
 * ```
 */
export function decide(
  requirement: Requirement,
  consent: VerifiedConsent | undefined,
  context: DecisionContext,
): Decision {
  const { purpose } = requirement;
  // Art. 51(4): only the roles the policy allows may touch these categories, whatever the basis.
  if (requirement.roles && !requirement.roles.has(context.actorRole ?? '')) {
    return verdict(requirement, 'actor_not_authorized', consent);
  }
  // Art. 38(1): whatever the basis, a transfer abroad needs a mechanism the company declared, valid now.
  let transfer: Transfer | undefined;
  if (requirement.operation === 'cross_border') {
    const check = checkTransfer(requirement.transfers, context.now ?? Date.now());
    if (!check.ok) return verdict(requirement, check.reason, consent);
    transfer = check.transfer;
  }
  if (purpose.basis !== 'consent') {
    // Art. 27: disclosed information may be processed unless the subject explicitly refused.
    if (purpose.basis === 'public_info' && context.publicInfoRefused) {
      return verdict(requirement, 'public_info_refused', consent);
    }
    // Art. 24(2): the right to refuse personalisation does not depend on consent.
    return (
      optedOut(requirement, context, consent) ??
      verdict(requirement, 'lawful_basis', consent, undefined, undefined, transfer)
    );
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
  // Art. 14(2): only a change of purpose, method or categories (the purpose's `changedAt`) needs new consent.
  if (consent.notice.id !== context.noticeId || consent.notice.version < purpose.noticeVersion) {
    return orDegrade(requirement, 'reconsent_required', consent);
  }
  // Art. 31: a purpose for children under 14 must not accept consent that calls the subject older.
  // Never degraded: a mislabelled child is a consent service fault, not a missing consent.
  if (purpose.childrenUnder14 && consent.ageBand !== 'under14') {
    return verdict(requirement, 'age_band_mismatch', consent);
  }

  let failure: ReasonCode = 'purpose_not_granted';
  for (const grant of consent.grants) {
    if (grant.purpose !== purpose.key) continue;
    const reason = checkGrant(requirement, consent, grant);
    if (reason === undefined) {
      // Art. 24: personalised processing stops when the subject opts out (token or preference store).
      const refused = optedOut(requirement, context, consent, grant);
      if (refused) return refused;
      if (purpose.personalization && !consent.personalization) {
        const optOut =
          purpose.onMissingConsent === 'degrade'
            ? 'degraded_personalization_opt_out'
            : 'personalization_opted_out';
        return verdict(requirement, optOut, consent, grant);
      }
      return verdict(requirement, 'consent_valid', consent, grant, undefined, transfer);
    }
    failure = reason;
  }
  return orDegrade(requirement, failure, consent);
}

/** The subject's stored opt-out of personalisation or marketing, if it applies to this purpose. */
function optedOut(
  requirement: Requirement,
  context: DecisionContext,
  consent?: VerifiedConsent,
  grant?: Grant,
): Decision | undefined {
  const { purpose } = requirement;
  const degrade = purpose.onMissingConsent === 'degrade';
  if (purpose.personalization && context.optedOut?.personalization) {
    const reason = degrade ? 'degraded_personalization_opt_out' : 'personalization_opted_out';
    return verdict(requirement, reason, consent, grant);
  }
  if (purpose.marketing && context.optedOut?.marketing) {
    return verdict(
      requirement,
      degrade ? 'degraded_marketing_opt_out' : 'marketing_opted_out',
      consent,
      grant,
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
  grant?: Grant,
  cause?: ReasonCode,
  transfer?: Transfer,
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
  if (grant !== undefined) {
    decision.consentType = grant.consentType;
    decision.givenAt = grant.givenAt;
  }
  if (transfer !== undefined) decision.transfer = transfer;
  return decision;
}

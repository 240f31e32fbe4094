import { DEGRADABLE } from '../decide/decide.js';
import { type DenyReason, REASONS } from '../errors/codes.js';
import type { Requirement } from '../policy/requirement.js';

const TOKEN_REASONS: readonly DenyReason[] = [
  'token_ambiguous',
  'token_malformed',
  'token_too_large',
  'token_invalid',
  'token_expired',
  'token_not_yet_valid',
  'claims_invalid',
];

/**
 * Every refusal a guarded route can answer with, derived from its requirement the way `decide()`
 * reaches them: token problems and consent rules only for a consent basis (Art. 13), separate
 * consent for sensitive PI (Art. 29) and for provision, disclosure and cross-border transfer
 * (Art. 23, 25, 39), and so on. Sorted by status, then by code.
 *
 * @example
 * ```ts
 * const requirement = pipl.requirement('health.records', { operation: 'use' });
 * refusalsOf(requirement, true).includes('sensitive_separate_consent_required'); // true: medical_health is sensitive
 * ```
 */
export function refusalsOf(requirement: Requirement, subject: boolean): DenyReason[] {
  const { purpose, operation } = requirement;
  const reasons = new Set<DenyReason>(['guard_unavailable']);
  // A fail-open purpose goes on unrecorded instead of answering 503 audit_unavailable.
  if (!purpose.failOpen) reasons.add('audit_unavailable');
  // Art. 44-48: a rights request rests on who asks, never on consent.
  if (requirement.rightsRequest !== undefined) {
    reasons.add('subject_unresolved');
    reasons.add('rights_requester_not_subject');
    return sorted(reasons);
  }
  // Art. 51(4): per-category role allow-lists apply whatever the basis.
  if (requirement.roles) reasons.add('actor_not_authorized');
  // Art. 38(1): a transfer abroad needs a mechanism the company declared, valid now, whatever the basis.
  if (operation === 'cross_border') {
    reasons.add('transfer_not_declared');
    reasons.add('transfer_mechanism_expired');
    reasons.add('transfer_mechanism_not_yet_valid');
  }
  // Art. 27: disclosed information, unless the subject explicitly refused.
  if (purpose.basis === 'public_info') reasons.add('public_info_refused');
  // Art. 24(2): stored opt-outs apply on every basis (looked up when the route names its subject).
  const optOuts = purpose.personalization || purpose.marketing;
  if (purpose.basis !== 'consent' && subject && optOuts && purpose.onMissingConsent !== 'degrade') {
    reasons.add('revocation_unavailable');
    if (purpose.personalization) reasons.add('personalization_opted_out');
    if (purpose.marketing) reasons.add('marketing_opted_out');
  }
  if (purpose.basis === 'consent') {
    for (const reason of TOKEN_REASONS) reasons.add(reason);
    reasons.add('keys_unavailable');
    reasons.add('revocation_unavailable');
    if (subject) {
      reasons.add('subject_unresolved');
      reasons.add('subject_mismatch');
    }
    const rules: DenyReason[] = [
      'consent_required',
      'consent_withdrawn',
      'reconsent_required',
      'purpose_not_granted',
      'operation_not_granted',
      'category_not_granted',
      // Any token may state the subject is under 14 (Art. 31).
      'guardian_consent_required',
    ];
    // Separate consent, one code per article: Art. 29, 23, 25, 39.
    if (requirement.sensitiveCategories.length > 0) rules.push('sensitive_separate_consent_required');
    if (operation === 'provide') rules.push('provision_separate_consent_required');
    if (operation === 'disclose') rules.push('disclosure_separate_consent_required');
    if (operation === 'cross_border') rules.push('cross_border_separate_consent_required');
    if (purpose.childrenUnder14) rules.push('age_band_mismatch');
    if (purpose.writtenConsent) rules.push('written_consent_required');
    if (operation === 'provide') rules.push('recipient_not_granted');
    if (operation === 'cross_border') rules.push('cross_border_not_granted');
    // Art. 24 opt-out: refused, unless the purpose degrades (then it is a 200 without personalisation).
    if (purpose.personalization && purpose.onMissingConsent !== 'degrade')
      rules.push('personalization_opted_out');
    if (purpose.marketing && purpose.onMissingConsent !== 'degrade') rules.push('marketing_opted_out');
    for (const reason of rules) {
      if (!(purpose.onMissingConsent === 'degrade' && DEGRADABLE.has(reason))) reasons.add(reason);
    }
  }
  return sorted(reasons);
}

function sorted(reasons: Set<DenyReason>): DenyReason[] {
  return [...reasons].sort((a, b) => REASONS[a].status - REASONS[b].status || a.localeCompare(b));
}

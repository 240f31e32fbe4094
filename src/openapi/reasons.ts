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

/** Consent problems an Art. 16 `degrade` purpose answers with 200 (handler runs without the data). */
const DEGRADABLE: ReadonlySet<DenyReason> = new Set<DenyReason>([
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

/**
 * Every refusal a guarded route can answer with, derived from its requirement the way `decide()`
 * reaches them: token problems and consent rules only for a consent basis (Art. 13), separate
 * consent for sensitive PI (Art. 29) and for provision, disclosure and cross-border transfer
 * (Art. 23, 25, 39), and so on. Sorted by status, then by code.
 *
 * @example
 * ```ts
 * const requirement = pipl.requirement('health.records', { operation: 'use' });
 * refusalsOf(requirement, true).includes('separate_consent_required'); // true: medical_health is sensitive
 * ```
 */
export function refusalsOf(requirement: Requirement, subject: boolean): DenyReason[] {
  const { purpose, operation } = requirement;
  const reasons = new Set<DenyReason>(['guard_unavailable']);
  // A fail-open purpose goes on unrecorded instead of answering 503 audit_unavailable.
  if (!purpose.failOpen) reasons.add('audit_unavailable');
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
    const separate =
      requirement.sensitiveCategories.length > 0 ||
      operation === 'provide' ||
      operation === 'disclose' ||
      operation === 'cross_border';
    if (separate) rules.push('separate_consent_required');
    if (purpose.writtenConsent) rules.push('written_consent_required');
    if (operation === 'provide') rules.push('recipient_not_granted');
    if (operation === 'cross_border') rules.push('cross_border_not_granted');
    // Art. 24 opt-out: refused, unless the purpose degrades (then it is a 200 without personalisation).
    if (purpose.personalization && purpose.onMissingConsent !== 'degrade')
      rules.push('personalization_opted_out');
    for (const reason of rules) {
      if (!(purpose.onMissingConsent === 'degrade' && DEGRADABLE.has(reason))) reasons.add(reason);
    }
  }
  return [...reasons].sort((a, b) => REASONS[a].status - REASONS[b].status || a.localeCompare(b));
}

import type { ReasonCode } from './codes.js';

/**
 * The one PIPL article (or other rule) each reason code enforces, as the README's reason-code table
 * names it. Token and infrastructure codes cite the article whose duty they protect: an unverifiable
 * token is no evidence of informed, explicit consent (Art. 14(1)); an outage fails closed as a
 * security measure (Art. 51).
 */
export const REASON_ARTICLES: { readonly [K in ReasonCode]: string } = {
  consent_valid: 'Art. 13(1)(i)',
  lawful_basis: 'Art. 13(1)(ii)–(vii)',
  degraded_no_consent: 'Art. 16',
  degraded_personalization_opt_out: 'Art. 24(2)',
  degraded_marketing_opt_out: 'Art. 24(2)',
  rights_request: 'Art. 44',
  body_invalid: 'Art. 15',
  subject_unauthenticated: 'Art. 50',
  marketing_opted_out: 'Art. 24(2)',
  rights_requester_not_subject: 'Art. 50',
  subject_forbidden: 'Art. 50',
  consent_unknown: 'Art. 15',
  token_ambiguous: 'Art. 14(1)',
  token_malformed: 'Art. 14(1)',
  token_too_large: 'Art. 14(1)',
  token_invalid: 'Art. 14(1)',
  token_expired: 'Art. 14(1)',
  token_not_yet_valid: 'Art. 14(1)',
  claims_invalid: 'Art. 14(1)',
  consent_required: 'Art. 13(1)(i)',
  consent_withdrawn: 'Art. 15',
  reconsent_required: 'Art. 14(2)',
  subject_mismatch: 'Art. 14(1)',
  subject_unresolved: 'Art. 14(1)',
  purpose_not_granted: 'Art. 14(1)',
  category_not_granted: 'Art. 6',
  operation_not_granted: 'Art. 14(1)',
  separate_consent_required: 'Art. 23, 25, 29, 39 (deprecated)',
  sensitive_separate_consent_required: 'Art. 29',
  provision_separate_consent_required: 'Art. 23',
  disclosure_separate_consent_required: 'Art. 25',
  cross_border_separate_consent_required: 'Art. 39',
  written_consent_required: 'Art. 29',
  guardian_consent_required: 'Art. 31',
  recipient_not_granted: 'Art. 23',
  cross_border_not_granted: 'Art. 39',
  transfer_not_declared: 'Art. 38(1)',
  transfer_mechanism_expired: 'Art. 38(1)',
  transfer_mechanism_not_yet_valid: 'Art. 38(1)',
  age_band_mismatch: 'Art. 31',
  actor_not_authorized: 'Art. 51(4)',
  public_info_refused: 'Art. 27',
  personalization_opted_out: 'Art. 24(2)',
  keys_unavailable: 'Art. 51',
  revocation_unavailable: 'Art. 15',
  audit_unavailable: 'Art. 54',
  guard_unavailable: 'Art. 51',
};

/**
 * Codes that replaced a deprecated one. `separate_consent_required` was split by cause; a consumer
 * that still matches on it can map the new codes back with this table.
 */
export const DEPRECATED_REASON_ALIASES: Readonly<Partial<Record<ReasonCode, ReasonCode>>> = {
  sensitive_separate_consent_required: 'separate_consent_required',
  provision_separate_consent_required: 'separate_consent_required',
  disclosure_separate_consent_required: 'separate_consent_required',
  cross_border_separate_consent_required: 'separate_consent_required',
};

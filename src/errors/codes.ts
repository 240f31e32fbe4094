/**
 * Stable reason codes. They are API: shown in audit records and in problem+json responses,
 * documented in the README, and never renamed. Messages may improve; codes do not change.
 */
export const REASONS = {
  // allow
  consent_valid: { status: 200, effect: 'allow', title: 'Consent covers this processing' },
  lawful_basis: {
    status: 200,
    effect: 'allow',
    title: 'Processing rests on a non-consent lawful basis (Art. 13)',
  },
  // degrade (Art. 16: the service runs without the personal information)
  degraded_no_consent: {
    status: 200,
    effect: 'degrade',
    title: 'Consent absent; the handler runs without the data',
  },
  degraded_personalization_opt_out: {
    status: 200,
    effect: 'degrade',
    title: 'Subject opted out of personalisation (Art. 24); non-personalised response',
  },
  degraded_marketing_opt_out: {
    status: 200,
    effect: 'degrade',
    title: 'Subject opted out of marketing; response without marketing',
  },
  rights_request: {
    status: 200,
    effect: 'allow',
    title: 'Rights request by the data subject or an authorised agent (Art. 44-48)',
  },
  // 400
  token_ambiguous: { status: 400, effect: 'deny', title: 'Consent token supplied in more than one place' },
  // 401 token problems
  token_malformed: { status: 401, effect: 'deny', title: 'Consent token is not a well-formed compact JWS' },
  token_too_large: { status: 401, effect: 'deny', title: 'Consent token exceeds the size limit' },
  token_invalid: { status: 401, effect: 'deny', title: 'Consent token failed verification' },
  token_expired: { status: 401, effect: 'deny', title: 'Consent token has expired' },
  token_not_yet_valid: { status: 401, effect: 'deny', title: 'Consent token is not valid yet' },
  claims_invalid: {
    status: 401,
    effect: 'deny',
    title: 'Consent token claims do not match the consent schema',
  },
  // 403 consent problems
  consent_required: {
    status: 403,
    effect: 'deny',
    title: 'This purpose needs consent and no consent token was sent',
  },
  consent_withdrawn: { status: 403, effect: 'deny', title: 'The consent was withdrawn (Art. 15)' },
  reconsent_required: {
    status: 403,
    effect: 'deny',
    title: 'Consent was given under an older privacy notice; new consent is needed (Art. 14)',
  },
  subject_mismatch: { status: 403, effect: 'deny', title: 'The consent belongs to a different data subject' },
  subject_unresolved: { status: 403, effect: 'deny', title: 'The route could not name the data subject' },
  purpose_not_granted: { status: 403, effect: 'deny', title: 'The consent does not cover this purpose' },
  category_not_granted: {
    status: 403,
    effect: 'deny',
    title: 'The consent does not cover every category this route touches',
  },
  operation_not_granted: { status: 403, effect: 'deny', title: 'The consent does not cover this operation' },
  /** @deprecated Never emitted since 0.2: split by cause into the four codes below. Kept so old records parse. */
  separate_consent_required: {
    status: 403,
    effect: 'deny',
    title: 'Separate consent is required (Art. 23, 25, 29, 39)',
  },
  sensitive_separate_consent_required: {
    status: 403,
    effect: 'deny',
    title: 'Sensitive personal information needs separate consent (Art. 29)',
  },
  provision_separate_consent_required: {
    status: 403,
    effect: 'deny',
    title: 'Provision to another handler needs separate consent (Art. 23)',
  },
  disclosure_separate_consent_required: {
    status: 403,
    effect: 'deny',
    title: 'Public disclosure needs separate consent (Art. 25)',
  },
  cross_border_separate_consent_required: {
    status: 403,
    effect: 'deny',
    title: 'A cross-border transfer needs separate consent (Art. 39)',
  },
  written_consent_required: { status: 403, effect: 'deny', title: 'Written consent is required (Art. 29)' },
  guardian_consent_required: {
    status: 403,
    effect: 'deny',
    title: "A guardian's consent is required for a subject under 14 (Art. 31)",
  },
  recipient_not_granted: {
    status: 403,
    effect: 'deny',
    title: 'The consent does not name this recipient (Art. 23)',
  },
  cross_border_not_granted: {
    status: 403,
    effect: 'deny',
    title: 'The consent does not name this overseas recipient and country (Art. 39)',
  },
  transfer_not_declared: {
    status: 403,
    effect: 'deny',
    title: 'The policy declares no transfer mechanism for this country and recipient (Art. 38)',
  },
  transfer_mechanism_expired: {
    status: 403,
    effect: 'deny',
    title: 'The transfer mechanism for this country and recipient has expired (Art. 38)',
  },
  transfer_mechanism_not_yet_valid: {
    status: 403,
    effect: 'deny',
    title: 'The transfer mechanism for this country and recipient is not valid yet (Art. 38)',
  },
  age_band_mismatch: {
    status: 403,
    effect: 'deny',
    title: 'A purpose for children under 14 received consent for another age band (Art. 31)',
  },
  actor_not_authorized: {
    status: 403,
    effect: 'deny',
    title: "The actor's role may not access these categories (Art. 51)",
  },
  public_info_refused: {
    status: 403,
    effect: 'deny',
    title: 'The subject refused processing of their disclosed information (Art. 27)',
  },
  personalization_opted_out: {
    status: 403,
    effect: 'deny',
    title: 'The subject opted out of personalised processing (Art. 24)',
  },
  marketing_opted_out: { status: 403, effect: 'deny', title: 'The subject opted out of marketing' },
  rights_requester_not_subject: {
    status: 403,
    effect: 'deny',
    title: 'Only the data subject or an authorised agent may make this rights request (Art. 44-48, 50)',
  },
  // Subject endpoints (withdraw, opt out, list): the data subject's own requests.
  subject_unauthenticated: {
    status: 401,
    effect: 'deny',
    title: 'The caller could not be authenticated as a data subject',
  },
  subject_forbidden: {
    status: 403,
    effect: 'deny',
    title: 'The caller may not act for this data subject',
  },
  consent_unknown: { status: 404, effect: 'deny', title: 'No consent with this id belongs to the subject' },
  body_invalid: { status: 400, effect: 'deny', title: 'The request body does not have the documented shape' },
  // 503 infrastructure: fail closed
  keys_unavailable: { status: 503, effect: 'deny', title: 'Verification keys are unavailable' },
  revocation_unavailable: {
    status: 503,
    effect: 'deny',
    title: 'The consent withdrawal list is unavailable',
  },
  audit_unavailable: { status: 503, effect: 'deny', title: 'The audit log cannot be written' },
  guard_unavailable: {
    status: 503,
    effect: 'deny',
    title: 'The consent guard failed; the request was stopped',
  },
} as const satisfies Record<string, { status: number; effect: 'allow' | 'deny' | 'degrade'; title: string }>;

/** Every stable reason code a decision or error can carry. */
export type ReasonCode = keyof typeof REASONS;
/** Reason codes that deny the request. */
export type DenyReason = {
  [K in ReasonCode]: (typeof REASONS)[K]['effect'] extends 'deny' ? K : never;
}[ReasonCode];

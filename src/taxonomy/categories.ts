/**
 * Built-in personal-information categories, checked against PIPL Art. 28 and the identification
 * rules of GB/T 45574-2025 (§4.1 identification: PI whose leak or illegal use easily harms personal
 * dignity or personal and property safety; §4.2 and Annex A: the common sensitive categories). §6.1–6.8
 * of the standard are the *processing requirements* per category, so they are not cited as the source
 * of a category. Choices the standard leaves to the handler are marked "Choice"; override any
 * sensitivity in `policy.categories` with a `reason` your assessment gives.
 */
export const BUILTIN_CATEGORIES = {
  biometric: {
    sensitive: true,
    description:
      'Biometric identification: face, fingerprint, voiceprint, iris, palm and vein prints, gait (Art. 28; GB/T 45574 Annex A)',
  },
  religious_belief: {
    sensitive: true,
    description: 'Religious belief, affiliation and activities (Art. 28; GB/T 45574 Annex A)',
  },
  specific_identity: {
    sensitive: true,
    // Choice: Annex A's examples are identities whose disclosure invites discrimination (e.g. disability,
    // occupations unsuitable for disclosure); ethnicity and political status were examples in older
    // drafts and are kept here as the cautious reading, since Art. 28's test (dignity) plainly fits them.
    description:
      'Specific identity whose disclosure invites discrimination: disability status, occupations unsuitable for disclosure; cautiously also ethnicity (Art. 28; GB/T 45574 Annex A)',
  },
  medical_health: {
    sensitive: true,
    description:
      'Medical and health: records, test results, prescriptions, conditions, reproductive health (Art. 28; GB/T 45574 Annex A)',
  },
  financial_account: {
    sensitive: true,
    // GB/T 45574 Annex A counts account numbers *with* their passwords, PINs and payment tokens as
    // financial-account information: a payment PIN is financial, not an ordinary credential.
    description:
      'Financial accounts: bank, payment, securities and fund account numbers and their passwords, payment PINs, card track data, payment tokens (Art. 28; GB/T 45574 Annex A)',
  },
  whereabouts: {
    sensitive: true,
    description:
      'Whereabouts: precise location and continuous tracks (person or vehicle) (Art. 28; GB/T 45574 Annex A). Coarse location is `location_coarse`.',
  },
  identity_document_image: {
    sensitive: true,
    // GB/T 45574 no longer lists the ID number alone as sensitive, but an image of a resident ID card
    // (or a copy clear enough to show the whole card) still is: with it, accounts can be opened and
    // property harmed.
    description:
      'Images of identity documents (resident ID card, passport) showing the whole card (GB/T 45574 Annex A)',
  },
  sensitive_other: {
    sensitive: true,
    description:
      'Other sensitive PI, e.g. sexual orientation, criminal records, credit reports (Art. 28 "等"; GB/T 45574 Annex A)',
  },
  identity_basic: { sensitive: false, description: 'Name, nickname, gender, date of birth' },
  contact: { sensitive: false, description: 'Phone number, email, postal address' },
  government_id: {
    sensitive: false,
    // Choice: the number alone is not sensitive under GB/T 45574; combined with other PI it can become
    // so (§4.1), which is why its sensitivity stays configurable.
    description:
      'Identity document numbers alone (GB/T 45574: not sensitive by itself; sensitivity configurable)',
  },
  account_credentials: {
    sensitive: false,
    // Choice: login names and passwords of ordinary accounts are general PI; a financial account's
    // password or a payment PIN belongs to `financial_account`.
    description: 'Account identifiers and login credentials of non-financial accounts',
  },
  device_network: { sensitive: false, description: 'Device identifiers, IP addresses' },
  behavior: { sensitive: false, description: 'Browsing, purchase and usage behaviour' },
  location_coarse: {
    sensitive: false,
    // GB/T 45574 treats precise positioning as whereabouts; a city or IP-derived region is not precise.
    description: 'Coarse location: city or region, or estimated from an IP address',
  },
  content_comms: {
    sensitive: false,
    // Choice: GB/T 35273-2020 listed communication content as sensitive; GB/T 45574 Annex A does not
    // name it. Mark it sensitive in your policy where the content itself is (e.g. private messages).
    description: 'Content of communications (GB/T 35273-2020 called it sensitive; override where it is)',
  },
  employment: { sensitive: false, description: 'Employment and HR information' },
} as const satisfies Record<string, CategoryDefinition>;

export type BuiltinCategory = keyof typeof BUILTIN_CATEGORIES;

/** A personal-information category in the registry. */
export interface CategoryDefinition {
  /** Sensitive PI (Art. 28) needs separate consent and an impact assessment. */
  sensitive: boolean;
  description?: string;
  /** Why the sensitivity differs from the built-in one (kept in the policy text the audit log holds). */
  reason?: string;
  /**
   * Art. 51(4): actor roles (`actor.type`) allowed to touch this category. When set, a request whose
   * actor has another role, or no role, is refused with `actor_not_authorized`.
   */
  roles?: readonly string[];
}

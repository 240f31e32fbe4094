import { z } from 'zod';

/**
 * Built-in personal-information categories. Sensitive ones follow PIPL Art. 28 and
 * GB/T 45574-2025 §6.1–6.8; users may add their own or change `government_id`'s sensitivity.
 */
export const BUILTIN_CATEGORIES = {
  biometric: { sensitive: true, description: 'Biometric identification (GB/T 45574 §6.1)' },
  religious_belief: { sensitive: true, description: 'Religious belief (§6.2)' },
  specific_identity: {
    sensitive: true,
    description: 'Specific identity, e.g. ethnicity, political status (§6.3)',
  },
  medical_health: { sensitive: true, description: 'Medical and health information (§6.4)' },
  financial_account: { sensitive: true, description: 'Financial accounts (§6.5)' },
  whereabouts: { sensitive: true, description: 'Precise or continuous location tracking (§6.6)' },
  sensitive_other: { sensitive: true, description: 'Other sensitive personal information (§6.8)' },
  identity_basic: { sensitive: false, description: 'Name, nickname, gender, date of birth' },
  contact: { sensitive: false, description: 'Phone number, email, postal address' },
  government_id: { sensitive: false, description: 'Identity document numbers (sensitivity configurable)' },
  account_credentials: { sensitive: false, description: 'Account identifiers and credentials' },
  device_network: { sensitive: false, description: 'Device identifiers, IP addresses' },
  behavior: { sensitive: false, description: 'Browsing, purchase and usage behaviour' },
  location_coarse: { sensitive: false, description: 'City-level location' },
  content_comms: { sensitive: false, description: 'Content of communications' },
  employment: { sensitive: false, description: 'Employment and HR information' },
} as const satisfies Record<string, CategoryDefinition>;

export type BuiltinCategory = keyof typeof BUILTIN_CATEGORIES;

/** A personal-information category in the registry. */
export interface CategoryDefinition {
  /** Sensitive PI (Art. 28) needs separate consent and an impact assessment. */
  sensitive: boolean;
  description?: string;
}

/** Processing operations of PIPL Art. 4, plus `cross_border` (Art. 38–39). */
export const OPERATIONS = [
  'collect',
  'store',
  'use',
  'process',
  'transmit',
  'provide',
  'disclose',
  'delete',
  'cross_border',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Lawful bases of PIPL Art. 13(1) items i–vii. */
export const LEGAL_BASES = [
  'consent',
  'contract',
  'statutory',
  'emergency',
  'news',
  'public_info',
  'other_law',
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/**
 * How consent was given. `separate` (Art. 23, 25, 29, 39), `written` (Art. 29 where required),
 * `guardian` (Art. 31: given by the guardian of a subject under 14; counts as separate).
 */
export const CONSENT_TYPES = ['general', 'separate', 'written', 'guardian'] as const;
export type ConsentType = (typeof CONSENT_TYPES)[number];

/** Age band of the data subject. `under14` makes all of the subject's PI sensitive (Art. 28, 31). */
export const AGE_BANDS = ['adult', '14to18', 'under14'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/** Transfer mechanisms of Art. 38(1). */
export const TRANSFER_MECHANISMS = [
  'security_assessment',
  'certification',
  'standard_contract',
  'other',
] as const;
export type TransferMechanism = (typeof TRANSFER_MECHANISMS)[number];

export const operationSchema = z.enum(OPERATIONS);
export const legalBasisSchema = z.enum(LEGAL_BASES);
export const consentTypeSchema = z.enum(CONSENT_TYPES);
export const ageBandSchema = z.enum(AGE_BANDS);
export const transferMechanismSchema = z.enum(TRANSFER_MECHANISMS);

/** Category keys: lower-case words joined by `_`, optionally dotted (`user.loyalty_points`). */
export const CATEGORY_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

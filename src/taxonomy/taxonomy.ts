import { z } from 'zod';
import { BUILTIN_CATEGORIES, type BuiltinCategory, type CategoryDefinition } from './categories.js';

export { BUILTIN_CATEGORIES, type BuiltinCategory, type CategoryDefinition };

/**
 * Processing operations of PIPL Art. 4, plus `cross_border` (Art. 38–39) and `entrust`
 * (Art. 21: processing by a processor under contract, which is neither `provide` nor a new purpose).
 */
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
  'entrust',
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
 * `guardian` (Art. 31: given by the guardian of a subject under 14). Guardian consent is the
 * separate consent Art. 31 asks for a child's PI; it is not the adult's own consent, so it never
 * satisfies Art. 29 for an adult subject.
 */
export const CONSENT_TYPES = ['general', 'separate', 'written', 'guardian'] as const;
export type ConsentType = (typeof CONSENT_TYPES)[number];

/** Age band of the data subject. `under14` makes all of the subject's PI sensitive (Art. 28, 31). */
export const AGE_BANDS = ['adult', '14to18', 'under14'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/**
 * How a guardian's consent (Art. 31) was verified: `written` (signed paper form), `electronic`
 * (electronic signature), `in_person` (verified at a counter), `verified_account` (an account of the
 * guardian whose identity was verified). An enum, so a `writtenConsent` purpose compares a value,
 * not free text.
 */
export const GUARDIAN_METHODS = ['written', 'electronic', 'in_person', 'verified_account'] as const;
export type GuardianMethod = (typeof GUARDIAN_METHODS)[number];

/**
 * Transfer mechanisms the company declares per destination (Art. 38(1)): CAC security assessment
 * (Art. 40), certification, the CAC standard contract (Standard Contract Measures, filed with the
 * provincial CAC), or an exemption of the 2024 Provisions on Promoting and Regulating Cross-Border
 * Data Flows.
 */
export const TRANSFER_MECHANISMS = [
  'security_assessment',
  'certification',
  'standard_contract',
  'exemption',
] as const;
export type TransferMechanism = (typeof TRANSFER_MECHANISMS)[number];

/**
 * Exemptions of the 2024 Provisions on Promoting and Regulating Cross-Border Data Flows that can
 * apply to personal information (Art. 3 covers data holding no PI and is left out):
 * - `transit_processing` (Art. 4): PI collected abroad, processed in China and sent back, no domestic PI added;
 * - `contract_necessity` (Art. 5(1)): necessary to conclude or perform a contract the subject is party to
 *   (cross-border shopping, delivery, payment, booking, visa, exam services);
 * - `hr_management` (Art. 5(2)): cross-border HR management under lawful labour rules or collective contracts;
 * - `emergency` (Art. 5(3)): to protect a natural person's life, health or property in an emergency;
 * - `below_threshold` (Art. 5(4)): a non-CIIO sending non-sensitive PI of fewer than 100,000 people
 *   since 1 January of the year (not for sensitive PI; `audit stats` counts the subjects);
 * - `ftz_negative_list` (Art. 6): data outside a pilot free-trade zone's negative list.
 * The exemptions lift the assessment, contract or certification, not Art. 39's notice and separate
 * consent (Provisions Art. 10), which the guard still checks.
 */
export const TRANSFER_EXEMPTIONS = [
  'transit_processing',
  'contract_necessity',
  'hr_management',
  'emergency',
  'below_threshold',
  'ftz_negative_list',
] as const;
export type TransferExemption = (typeof TRANSFER_EXEMPTIONS)[number];

export const operationSchema = z.enum(OPERATIONS);
export const legalBasisSchema = z.enum(LEGAL_BASES);
export const consentTypeSchema = z.enum(CONSENT_TYPES);
export const ageBandSchema = z.enum(AGE_BANDS);
export const guardianMethodSchema = z.enum(GUARDIAN_METHODS);
export const transferMechanismSchema = z.enum(TRANSFER_MECHANISMS);
export const transferExemptionSchema = z.enum(TRANSFER_EXEMPTIONS);

/** Category keys: lower-case words joined by `_`, optionally dotted (`user.loyalty_points`). */
export const CATEGORY_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

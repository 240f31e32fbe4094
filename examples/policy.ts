import { definePolicy } from '../src/index.js';

/** The consent service that signs consent tokens, and this API as their audience. */
export const ISSUER = 'https://consent.shop.example.cn';
export const AUDIENCE = 'shop-api';

/**
 * The privacy notice in force. Consent given under a version older than a purpose's `changedAt` (its
 * last material change) needs re-consent (Art. 14(2)).
 */
export const NOTICE = { id: 'shop-health-privacy', version: 3 } as const;

/** The logistics partner orders are handed to. The consent must name it (Art. 23). */
export const DELIVERY_PARTNER = 'SF Express Logistics';

/**
 * One processing policy for an e-commerce app with an online pharmacy and a kids' learning corner,
 * shared by the Express and Koa examples and the demo.
 */
export const policy = definePolicy({
  notice: NOTICE,
  categories: {
    // Every piece of PI about a child under 14 is sensitive (Art. 28), so the category says so too:
    // it makes the policy demand an impact assessment and the audit write durable.
    child_learning: { sensitive: true, description: "A child's learning progress and reading level" },
  },
  purposes: {
    'order.fulfilment': {
      description: 'Ship and bill the order the user placed',
      // Art. 13(1)(ii): necessary to conclude or perform a contract the subject is party to; no consent
      // needed for any of items ii–vii.
      basis: 'contract',
      categories: ['identity_basic', 'contact'],
      operations: ['use', 'store'],
      necessaryForService: true,
    },
    'marketing.personalized': {
      description: 'Product recommendations from purchase and browsing history',
      basis: 'consent',
      categories: ['behavior'],
      operations: ['use'],
      // Art. 16: refusing marketing must not cost the user the shop, so the route degrades instead.
      necessaryForService: false,
      onMissingConsent: 'degrade',
      personalization: true,
      piaRef: 'PIA-2026-03-recommendations',
    },
    'health.prescriptions': {
      description: 'Show prescriptions to the pharmacy and the patient',
      basis: 'consent',
      categories: ['medical_health', 'identity_basic'],
      operations: ['use', 'store'],
      necessaryForService: true,
      piaRef: 'PIA-2026-04-pharmacy',
      // Notice v3 added the pharmacy as a user of prescriptions: a material change (Art. 14(2)).
      changedAt: 3,
    },
    'delivery.partner': {
      description: 'Hand name, phone and address to the logistics partner',
      basis: 'consent',
      categories: ['identity_basic', 'contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-2026-05-logistics',
    },
    'kids.learning_profile': {
      description: "A child's reading level and progress in the learning corner",
      basis: 'consent',
      categories: ['child_learning', 'identity_basic'],
      operations: ['use', 'store'],
      necessaryForService: true,
      piaRef: 'PIA-2026-06-minors',
      // Art. 31: guardian consent whatever age band a token states; a token calling the child older is refused.
      childrenUnder14: true,
    },
  },
});

export type ShopPurpose = typeof policy extends { purposes: ReadonlyMap<infer P, unknown> } ? P : never;

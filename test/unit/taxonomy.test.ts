import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CATEGORIES,
  definePolicy,
  OPERATIONS,
  TRANSFER_EXEMPTIONS,
  TRANSFER_MECHANISMS,
} from '../../src/index.js';

// GB/T 45574-2025 §4 and Annex A (identification), not §6 (processing requirements).
describe('built-in categories against PIPL Art. 28 and GB/T 45574-2025', () => {
  it('marks the Art. 28 kinds and identity-document images sensitive', () => {
    const sensitive = Object.entries(BUILTIN_CATEGORIES)
      .filter(([, definition]) => definition.sensitive)
      .map(([key]) => key)
      .sort();
    expect(sensitive).toEqual(
      [
        'biometric',
        'financial_account',
        'identity_document_image',
        'medical_health',
        'religious_belief',
        'sensitive_other',
        'specific_identity',
        'whereabouts',
      ].sort(),
    );
  });

  it('keeps the ID number alone, coarse location, ordinary credentials and communications general (overridable)', () => {
    for (const key of ['government_id', 'location_coarse', 'account_credentials', 'content_comms'] as const) {
      expect(BUILTIN_CATEGORIES[key].sensitive, key).toBe(false);
    }
    expect(BUILTIN_CATEGORIES.financial_account.description).toMatch(/passwords, payment PINs/);
    expect(BUILTIN_CATEGORIES.whereabouts.description).toMatch(/precise location/);
  });

  it('cites the identification rules (Annex A), never §6', () => {
    for (const [key, definition] of Object.entries(BUILTIN_CATEGORIES)) {
      expect(definition.description, key).not.toMatch(/§6/);
      if (definition.sensitive) expect(definition.description, key).toContain('GB/T 45574 Annex A');
    }
  });

  it('lets a policy raise sensitivity freely and lower it only with a reason', () => {
    const purposes = {
      p: {
        basis: 'contract',
        categories: ['content_comms'],
        operations: ['use'],
        necessaryForService: true,
        piaRef: 'PIA',
      },
    } as const;
    const raised = definePolicy({
      notice: { id: 'n', version: 1 },
      categories: { content_comms: { sensitive: true } },
      purposes,
    });
    expect(raised.isSensitive('content_comms')).toBe(true);
  });

  it('lists entrust among the operations and the 2024 Provisions exemptions', () => {
    expect(OPERATIONS).toContain('entrust');
    expect(TRANSFER_MECHANISMS).toEqual([
      'security_assessment',
      'certification',
      'standard_contract',
      'exemption',
    ]);
    expect(TRANSFER_EXEMPTIONS).toEqual([
      'transit_processing',
      'contract_necessity',
      'hr_management',
      'emergency',
      'below_threshold',
      'ftz_negative_list',
    ]);
  });
});

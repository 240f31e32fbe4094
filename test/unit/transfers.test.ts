import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createPseudonymizer } from '../../src/audit/pseudonymize.js';
import { transferStats } from '../../src/audit/transfer-stats.js';
import { decide } from '../../src/decide/decide.js';
import {
  type AuditRecord,
  type DecisionEvent,
  definePolicy,
  fileAuditSink,
  PiplConfigError,
  type PolicyInput,
} from '../../src/index.js';
import { compileRequirement } from '../../src/policy/requirement.js';
import { checkTransfer, compileTransfer, transferSchema } from '../../src/policy/transfers.js';
import { runCli } from '../support/processes.js';

const SG = {
  country: 'SG',
  recipient: 'Acme SG',
  mechanism: 'standard_contract',
  reference: 'SC-1',
  validFrom: '2026-01-01',
  validUntil: '2026-12-31',
} as const;

function policyWith(transfer: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) {
  return {
    notice: { id: 'n', version: 1 },
    purposes: {
      'support.overseas': {
        basis: 'consent',
        categories: ['contact'],
        operations: ['cross_border'],
        necessaryForService: false,
        piaRef: 'PIA-1',
        ...(transfer ? { transfers: [transfer] } : {}),
        ...extra,
      },
    },
  } as unknown as PolicyInput;
}

function configError(input: PolicyInput): string {
  try {
    definePolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PiplConfigError);
    return (error as Error).message;
  }
  throw new Error('definePolicy accepted the policy');
}

describe('declared transfers at start-up (Art. 38)', () => {
  it('needs transfers on a cross_border purpose, naming the purpose', () => {
    expect(configError(policyWith(undefined))).toMatch(
      /purposes\.support\.overseas: .*cross_border.*transfers/,
    );
  });

  for (const field of [
    'mechanism',
    'reference',
    'validFrom',
    'validUntil',
    'country',
    'recipient',
  ] as const) {
    it(`refuses a transfer without ${field}, naming the purpose`, () => {
      const { [field]: _dropped, ...rest } = SG;
      expect(configError(policyWith(rest))).toContain(`purposes.support.overseas.transfers.0.${field}`);
    });
  }

  it('refuses an empty reference, a validity that ends before it starts, and a bad date', () => {
    expect(configError(policyWith({ ...SG, reference: '' }))).toContain('transfers.0.reference');
    expect(configError(policyWith({ ...SG, validUntil: '2025-12-31' }))).toContain('validUntil is before');
    expect(configError(policyWith({ ...SG, validFrom: '2026-13-45' }))).toContain('transfers.0.validFrom');
    expect(configError(policyWith({ ...SG, validFrom: '1 Jan 2026' }))).toContain('transfers.0.validFrom');
  });

  it('refuses the token-era mechanism "other" and an exemption without its name', () => {
    expect(configError(policyWith({ ...SG, mechanism: 'other' }))).toContain('transfers.0.mechanism');
    expect(configError(policyWith({ ...SG, mechanism: 'exemption' }))).toContain('say which exemption');
    expect(configError(policyWith({ ...SG, exemption: 'hr_management' }))).toContain('only with mechanism');
  });

  it('refuses the below-threshold exemption for sensitive PI (2024 Provisions Art. 5(4))', () => {
    const input = policyWith(
      { ...SG, mechanism: 'exemption', exemption: 'below_threshold' },
      { categories: ['medical_health'] },
    );
    expect(configError(input)).toContain('below-threshold exemption');
    expect(() =>
      definePolicy(policyWith({ ...SG, mechanism: 'exemption', exemption: 'below_threshold' })),
    ).not.toThrow();
  });

  it('warns once at start-up about a route to an undeclared destination (refused per request)', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const policy = definePolicy(policyWith(SG));
      const route = {
        operation: 'cross_border',
        crossBorder: { country: 'JP', recipient: 'Acme KK' },
      } as const;
      const requirement = compileRequirement(policy, 'support.overseas', route);
      compileRequirement(policy, 'support.overseas', route);
      expect(requirement.transfers).toEqual([]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /no transfer to JP \/ "Acme KK".*transfer_not_declared/,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses transfers on a purpose without cross_border', () => {
    expect(configError(policyWith(SG, { operations: ['use'] }))).toContain('"cross_border" is not among');
  });
});

describe('an exemption lifts the mechanism, not Art. 39 consent (2024 Provisions Art. 10)', () => {
  it('still needs separate consent naming the destination', () => {
    const policy = definePolicy(
      policyWith({
        ...SG,
        mechanism: 'exemption',
        exemption: 'contract_necessity',
        validUntil: '2099-12-31',
      }),
    );
    const route = compileRequirement(policy, 'support.overseas', {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Acme SG' },
    });
    const grant = {
      purpose: 'support.overseas',
      categories: ['contact'],
      ops: ['cross_border' as const],
      crossBorder: { country: 'SG', recipient: 'Acme SG' },
      givenAt: 1,
    };
    const consent = (consentType: 'general' | 'separate') => ({
      id: 'c',
      subject: 'u',
      issuer: 'i',
      issuedAt: 1,
      expiresAt: 2,
      notice: { id: 'n', version: 1 },
      ageBand: 'adult' as const,
      guardian: undefined,
      personalization: true,
      grants: [{ ...grant, consentType }],
    });
    const context = { subjectId: undefined, subjectDeclared: false, withdrawn: false, noticeId: 'n' };
    expect(decide(route, consent('general'), context).reason).toBe('cross_border_separate_consent_required');
    expect(decide(route, consent('separate'), context)).toMatchObject({
      reason: 'consent_valid',
      transfer: { mechanism: 'exemption', exemption: 'contract_necessity' },
    });
  });
});

describe('transfer validity (guard clock)', () => {
  const transfer = compileTransfer(transferSchema.parse(SG));

  it('reads a date as a whole day in China Standard Time, both ends inclusive', () => {
    expect(transfer.validFrom).toBe(Date.parse('2026-01-01T00:00:00+08:00'));
    expect(transfer.validUntil).toBe(Date.parse('2027-01-01T00:00:00+08:00') - 1);
    expect(checkTransfer([transfer], Date.parse('2025-12-31T23:59:59.999+08:00'))).toEqual({
      ok: false,
      reason: 'transfer_mechanism_not_yet_valid',
    });
    expect(checkTransfer([transfer], Date.parse('2026-01-01T00:00:00+08:00'))).toEqual({
      ok: true,
      transfer,
    });
    expect(checkTransfer([transfer], Date.parse('2026-12-31T23:59:59.999+08:00')).ok).toBe(true);
    expect(checkTransfer([transfer], Date.parse('2027-01-01T00:00:00+08:00'))).toEqual({
      ok: false,
      reason: 'transfer_mechanism_expired',
    });
  });

  it('takes an RFC 3339 time with offset as given', () => {
    const exact = compileTransfer(
      transferSchema.parse({ ...SG, validFrom: '2026-03-01T09:00:00Z', validUntil: '2026-03-02T09:00:00Z' }),
    );
    expect(checkTransfer([exact], Date.parse('2026-03-02T09:00:00Z')).ok).toBe(true);
    expect(checkTransfer([exact], Date.parse('2026-03-02T09:00:00.001Z')).ok).toBe(false);
  });

  it('accepts any valid one of several (a renewed contract), and reports nothing declared', () => {
    const renewed = compileTransfer(
      transferSchema.parse({ ...SG, reference: 'SC-2', validFrom: '2027-01-01', validUntil: '2027-12-31' }),
    );
    const now = Date.parse('2027-06-01T00:00:00+08:00');
    expect(checkTransfer([transfer, renewed], now)).toEqual({ ok: true, transfer: renewed });
    expect(checkTransfer([], now)).toEqual({ ok: false, reason: 'transfer_not_declared' });
  });
});

const pseudonymize = createPseudonymizer('transfer-stats-key-0123456789abcdef0123');
const enforcer = { service: 't', instance: 'i', version: '0' };

function crossBorder(
  subject: string,
  time: string,
  country: string,
  overrides: Partial<DecisionEvent> = {},
): AuditRecord {
  return {
    v: 1,
    id: `${subject}-${time}`,
    time,
    chain: 'c',
    seq: 0,
    prev: '',
    hash: '',
    type: 'decision',
    requestId: 'r',
    actor: null,
    subject: pseudonymize(subject),
    method: 'POST',
    route: '/x',
    purpose: 'support.overseas',
    categories: ['contact'],
    operation: 'cross_border',
    basis: 'consent',
    consent: null,
    decision: 'allow',
    reason: 'consent_valid',
    status: 200,
    enforcer,
    transfer: {
      country,
      recipient: `${country} Co`,
      sensitive: country === 'US',
      mechanism: 'standard_contract',
    },
    ...overrides,
  } as AuditRecord;
}

async function* stream(records: AuditRecord[]) {
  yield* records;
}

describe('transferStats (Art. 40; 2024 Provisions Art. 5(4), 7, 8)', () => {
  it('counts distinct subjects per destination and Beijing calendar year, denials left out', async () => {
    const result = await transferStats(
      stream([
        crossBorder('u1', '2026-03-01T00:00:00.000Z', 'SG'),
        crossBorder('u1', '2026-04-01T00:00:00.000Z', 'SG'), // same subject, same year: once
        crossBorder('u2', '2026-04-01T00:00:00.000Z', 'SG'),
        crossBorder('u1', '2026-05-01T00:00:00.000Z', 'US'),
        crossBorder('u3', '2026-05-01T00:00:00.000Z', 'US', {
          decision: 'deny',
          reason: 'transfer_not_declared',
        }),
        // 16:30 UTC on 31 December is already 1 January in Beijing.
        crossBorder('u2', '2026-12-31T16:30:00.000Z', 'SG'),
        crossBorder('u9', '2026-06-01T00:00:00.000Z', 'SG', { subject: null }),
      ]),
    );
    expect(result.byDestination).toEqual([
      { year: 2026, country: 'SG', recipient: 'SG Co', subjects: 2, sensitiveSubjects: 0 },
      { year: 2026, country: 'US', recipient: 'US Co', subjects: 1, sensitiveSubjects: 1 },
      { year: 2027, country: 'SG', recipient: 'SG Co', subjects: 1, sensitiveSubjects: 0 },
    ]);
    // The thresholds count people across every destination: u1 once, although sent to SG and US.
    expect(result.byYear).toEqual([
      { year: 2026, subjects: 2, sensitiveSubjects: 1 },
      { year: 2027, subjects: 1, sensitiveSubjects: 0 },
    ]);
    expect(result.unattributed).toBe(1);
  });

  it('is reported by `pipl-guard audit stats`', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipl-xb-')), 'audit.jsonl');
    const sink = fileAuditSink({ path });
    for (const [subject, country] of [
      ['u1', 'SG'],
      ['u2', 'SG'],
      ['u1', 'SG'],
      ['u3', 'US'],
    ] as const) {
      const { v, id, time, chain, seq, prev, hash, ...event } = crossBorder(
        subject,
        '2026-01-01T00:00:00.000Z',
        country,
      ) as AuditRecord & DecisionEvent;
      sink.append(event);
    }
    await sink.close();
    const json = await runCli(['audit', 'stats', path, '--json']);
    expect(json.code).toBe(0);
    // The sink stamps the time; years are Beijing calendar years.
    const year = new Date(Date.now() + 8 * 3_600_000).getUTCFullYear();
    expect(JSON.parse(json.stdout).crossBorder.byDestination).toEqual([
      { year, country: 'SG', recipient: 'SG Co', subjects: 2, sensitiveSubjects: 0 },
      { year, country: 'US', recipient: 'US Co', subjects: 1, sensitiveSubjects: 1 },
    ]);
    const table = await runCli(['audit', 'stats', path]);
    expect(table.stdout).toContain('Cross-border subjects by year and destination');
    expect(table.stdout).toMatch(new RegExp(`${year}\\s+2\\s+0\\s+SG\\s+SG Co`));
  });
});

/**
 * What an auditor exports must carry what the records prove (Art. 23, 38–39, 55–56, 69): the policy
 * in force, the impact assessment, who received the information and under which contract, where it
 * went abroad and under which mechanism, the consent's notice, and the subject's own changes. A CSV
 * or OCSF export that drops them is a report the handler cannot answer a regulator with.
 *
 * Written by a real guard into a real log file, read by the CLI as its users run it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPiplGuard, definePolicy, fileAuditSink, type PiplGuard } from '../../src/index.js';
import { pseudonym } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';
import { runCli } from '../support/processes.js';

const policy = definePolicy({
  notice: { id: 'export-notice', version: 4 },
  purposes: {
    'ops.hosting': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['entrust'],
      necessaryForService: true,
      piaRef: 'PIA-HOST-1',
      processors: [{ name: 'CloudOps Ltd', contractRef: 'DPA-2026-09' }],
    },
    'partner.delivery': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['provide'],
      necessaryForService: false,
      piaRef: 'PIA-DLV-1',
    },
    'support.overseas': {
      basis: 'consent',
      categories: ['contact'],
      operations: ['cross_border'],
      necessaryForService: false,
      piaRef: 'PIA-SG-1',
      transfers: [
        {
          country: 'SG',
          recipient: 'Acme SG Support',
          mechanism: 'standard_contract',
          reference: 'SC-FILING-1',
          validFrom: '2020-01-01',
          validUntil: '2099-12-31',
        },
      ],
    },
  },
});

let log: string;

beforeAll(async () => {
  const keys = await makeKeys();
  log = join(mkdtempSync(join(tmpdir(), 'pipl-export-')), 'audit.jsonl');
  const pipl = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [keys.publicJwk] } },
    audit: { sink: fileAuditSink({ path: log }), subjectKey: AUDIT_KEY, service: 'export-test' },
  }) as unknown as PiplGuard<string, string>;
  const token = await tokenFor(keys, {
    consentId: 'c-export-1',
    notice: { id: 'export-notice', version: 4 },
    grants: [
      { purpose: 'ops.hosting', categories: ['contact'], ops: ['entrust'], consentType: 'general' },
      {
        purpose: 'partner.delivery',
        categories: ['contact'],
        ops: ['provide'],
        consentType: 'separate',
        givenAt: 1_790_000_000,
        recipients: [{ name: 'SF Express' }],
      },
      {
        purpose: 'support.overseas',
        categories: ['contact'],
        ops: ['cross_border'],
        consentType: 'separate',
        crossBorder: { country: 'SG', recipient: 'Acme SG Support' },
      },
    ],
  });
  const request = {
    method: 'POST',
    route: '/users/:id/x',
    header: (name: string) => (name === 'pipl-consent' ? token : undefined),
    subjectId: 'user-1',
    subjectDeclared: true,
    actor: { id: 'clerk-7' },
  };
  const requirements = [
    pipl.requirement('ops.hosting', { operation: 'entrust', processor: 'CloudOps Ltd' }),
    pipl.requirement('partner.delivery', { operation: 'provide', recipient: 'SF Express' }),
    pipl.requirement('support.overseas', {
      operation: 'cross_border',
      crossBorder: { country: 'SG', recipient: 'Acme SG Support' },
    }),
  ];
  for (const requirement of requirements) {
    const outcome = await pipl.check(requirement, request);
    expect([outcome.decision.effect, outcome.decision.reason]).toEqual(['allow', expect.any(String)]);
  }
  await pipl.withdraw('c-export-1', undefined, { subject: 'user-1' });
  await pipl.close();
});

/** RFC 4180 rows: quoted cells may hold commas and doubled quotes (no newlines in these records). */
function parseCsv(text: string): Record<string, string>[] {
  const [header, ...rows] = text
    .trim()
    .split('\n')
    .map((line) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1] as string))
    .map((cells) =>
      cells.slice(0, -1).map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c)),
    );
  return rows.map((row) => Object.fromEntries((header as string[]).map((name, i) => [name, row[i] ?? ''])));
}

describe('exports keep what the records prove', () => {
  it('CSV: policy, PIA, recipient and contract, transfer, consent notice, subject changes', async () => {
    const result = await runCli(['audit', 'query', log, '--format', 'csv']);
    expect(result.code).toBe(0);
    const rows = parseCsv(result.stdout);
    const decisions = rows.filter((row) => row.type === 'decision');
    expect(decisions).toHaveLength(3);
    const [hosting, delivery, overseas] = decisions as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    for (const row of decisions) {
      expect(row.policy).toBe(policy.digest);
      expect(row.instance).not.toBe('');
      expect(row.notice_id).toBe('export-notice');
      expect(row.consent_id).toBe('c-export-1');
    }
    expect(hosting).toMatchObject({
      pia_ref: 'PIA-HOST-1',
      recipient: 'CloudOps Ltd',
      recipient_role: 'processor',
      contract_ref: 'DPA-2026-09',
      consent_type: 'general',
    });
    expect(delivery).toMatchObject({
      pia_ref: 'PIA-DLV-1',
      recipient: 'SF Express',
      recipient_role: 'handler',
      consent_type: 'separate',
      given_at: '1790000000',
    });
    expect(overseas).toMatchObject({
      pia_ref: 'PIA-SG-1',
      transfer_country: 'SG',
      transfer_recipient: 'Acme SG Support',
      transfer_mechanism: 'standard_contract',
      transfer_reference: 'SC-FILING-1',
      transfer_sensitive: 'false',
    });
    const withdrawal = rows.find((row) => row.type === 'consent_withdrawal');
    expect(withdrawal).toMatchObject({
      subject: pseudonym('user-1'),
      consent_id: 'c-export-1',
      scope: 'consent',
      result: 'done',
      via: 'api',
      status: '',
    });
    const outcome = rows.find((row) => row.type === 'outcome');
    expect(outcome).toBeUndefined(); // check() alone records no outcome: nothing answered yet
    // The first columns keep their places, for sheets that read them by position.
    expect(result.stdout.split('\n')[0]).toMatch(
      /^time,seq,type,decision,reason,status,purpose,categories,operation,basis,subject,actor,method,route,consent_id,notice_version,request_id,hash,/,
    );
  });

  it('OCSF: the same accountability fields under unmapped.pipl', async () => {
    const result = await runCli(['audit', 'query', log, '--format', 'ocsf']);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { unmapped: { pipl: Record<string, unknown> } });
    expect(events.map((event) => event.unmapped.pipl)).toEqual([
      expect.objectContaining({
        policy: policy.digest,
        piaRef: 'PIA-HOST-1',
        recipient: { name: 'CloudOps Ltd', role: 'processor', contractRef: 'DPA-2026-09' },
      }),
      expect.objectContaining({
        policy: policy.digest,
        piaRef: 'PIA-DLV-1',
        recipient: { name: 'SF Express', role: 'handler' },
      }),
      expect.objectContaining({
        policy: policy.digest,
        piaRef: 'PIA-SG-1',
        transfer: expect.objectContaining({
          country: 'SG',
          recipient: 'Acme SG Support',
          mechanism: 'standard_contract',
          reference: 'SC-FILING-1',
        }),
      }),
    ]);
  });
});

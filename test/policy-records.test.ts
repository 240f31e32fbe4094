import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../src/index.js';
import { definePolicy } from '../src/index.js';
import { recordsMarkdown, recordsOfProcessing } from '../src/records/index.js';
import { runCli } from './support/processes.js';

// Records of processing (issue 11 item 3): from the library and from `pipl-guard policy records`.
const BASE = {
  notice: { id: 'shop-privacy', version: 3 },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['identity_basic', 'contact'],
      operations: ['use', 'store'],
      necessaryForService: true,
    },
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['store', 'use'],
      necessaryForService: true,
      piaRef: 'PIA-2026-01',
    },
  },
};

let dir: string;
let v1: string;
let v2: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipl-records-'));
  v1 = join(dir, 'policy-v1.mjs');
  writeFileSync(v1, `export default ${JSON.stringify(BASE)};\n`);
  const changed = structuredClone(BASE) as typeof BASE & { purposes: Record<string, unknown> };
  changed.purposes['marketing.personalized'] = {
    basis: 'consent',
    categories: ['behavior'],
    operations: ['use'],
    necessaryForService: false,
    personalization: true,
    piaRef: 'PIA-2026-07',
  };
  (changed.purposes['order.fulfilment'] as { categories: string[] }).categories.push('financial_account');
  (changed.purposes['order.fulfilment'] as { piaRef?: string }).piaRef = 'PIA-2026-09';
  v2 = join(dir, 'policy-v2.mjs');
  writeFileSync(v2, `export const policy = ${JSON.stringify(changed)};\n`);
});

describe('recordsOfProcessing', () => {
  it('lists each purpose, sorted, with sensitive categories flagged and absent fields as null', () => {
    const records = recordsOfProcessing(definePolicy(BASE as never));
    expect(records.notice).toEqual({ id: 'shop-privacy', version: 3 });
    expect(records.purposes.map((p) => p.purpose)).toEqual(['health.records', 'order.fulfilment']);
    const health = records.purposes[0];
    expect(health).toMatchObject({
      basis: 'consent',
      categories: [{ key: 'medical_health', sensitive: true }],
      operations: ['store', 'use'],
      piaRef: 'PIA-2026-01',
      retention: null,
      recipients: [],
      processors: [],
      transfers: [],
      necessaryForService: true,
      sensitive: true,
    });
    const order = records.purposes[1];
    expect(order?.categories).toEqual([
      { key: 'contact', sensitive: false },
      { key: 'identity_basic', sensitive: false },
    ]);
    expect(order?.piaRef).toBeNull();
  });

  it('picks up transfers, processors and retention when the policy has them (issue 8 field names)', () => {
    // The shape issue 8's definePolicy builds: compiled transfers (epoch ms), a processors Map, the
    // canonical text of the declared policy (with the declared dates) and its digest.
    const base = definePolicy(BASE as never);
    const declared = {
      ...BASE,
      purposes: {
        ...BASE.purposes,
        'health.records': {
          ...BASE.purposes['health.records'],
          description: 'Clinic records | shown to the patient',
          transfers: [
            {
              country: 'SG',
              recipient: 'Acme Health SG',
              mechanism: 'standard_contract',
              reference: 'SC-2026-0042',
              validFrom: '2026-01-01',
              validUntil: '2028-12-31',
            },
          ],
        },
      },
    };
    const health = base.purposes.get('health.records');
    const policy = {
      ...base,
      text: JSON.stringify(declared),
      digest: 'sha256:abc',
      purposes: new Map<string, unknown>([
        ...base.purposes,
        [
          'health.records',
          {
            ...health,
            retention: 'P3Y',
            processors: new Map([['CloudCo', { name: 'CloudCo', contractRef: 'DPA-7' }]]),
            transfers: [
              {
                country: 'SG',
                recipient: 'Acme Health SG',
                mechanism: 'standard_contract',
                reference: 'SC-2026-0042',
                validFrom: Date.parse('2025-12-31T16:00:00Z'),
                validUntil: Date.parse('2028-12-31T15:59:59.999Z'),
              },
            ],
          },
        ],
      ]),
    } as unknown as Policy;
    const entry = recordsOfProcessing(policy).purposes[0];
    expect(entry).toMatchObject({
      retention: 'P3Y',
      processors: [{ name: 'CloudCo', contractRef: 'DPA-7' }],
      recipients: ['Acme Health SG', 'CloudCo'],
      transfers: [
        {
          country: 'SG',
          recipient: 'Acme Health SG',
          mechanism: 'standard_contract',
          exemption: null,
          reference: 'SC-2026-0042',
          validFrom: '2026-01-01',
          validUntil: '2028-12-31',
        },
      ],
    });
    expect(recordsOfProcessing(policy).policyDigest).toBe('sha256:abc');
    const md = recordsMarkdown(recordsOfProcessing(policy), 'en');
    expect(md).toContain(
      '| Cross-border transfers (Art. 38–40) | SG Acme Health SG: standard_contract, SC-2026-0042, valid 2026-01-01 – 2028-12-31 |',
    );
    expect(md).toContain('| Entrusted processors (Art. 21) | CloudCo (DPA-7) |');
    expect(md).toContain('| Description | Clinic records \\| shown to the patient |');
  });
});

describe('pipl-guard policy records', { timeout: 90_000 }, () => {
  it('prints Markdown with "—" for what the policy does not declare', async () => {
    const { code, stdout } = await runCli(['policy', 'records', '--policy', v1]);
    expect(code).toBe(0);
    expect(stdout).toContain('## Purpose: health.records');
    expect(stdout).toContain('| Categories | medical_health (sensitive) |');
    expect(stdout).toContain('| Retention (Art. 19) | — |');
    expect(stdout).toContain('| Impact assessment (Art. 55–56) | PIA-2026-01 |');
  });

  it('prints Chinese labels with --lang zh-CN, and self-contained HTML with --format html', async () => {
    const zh = await runCli(['policy', 'records', '--policy', v1, '--lang', 'zh-CN']);
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain('| 个人信息种类 | medical_health (敏感) |');
    const html = await runCli(['policy', 'records', '--policy', v1, '--format', 'html']);
    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout).not.toMatch(/<script|<link|src=|href=/);
    expect(html.stdout).toContain('<code>health.records</code>');
  });

  it('shows a policy change as a diff between two JSON runs', async () => {
    const a = await runCli(['policy', 'records', '--policy', v1, '--format', 'json']);
    const b = await runCli(['policy', 'records', '--policy', v2, '--format', 'json']);
    const again = await runCli(['policy', 'records', '--policy', v1, '--format', 'json']);
    expect(a.stdout).toBe(again.stdout);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const diff = await promisify(execFile)('diff', ['-u', 'a.json', 'b.json'], { cwd: dir }).catch(
      (error: { code: number; stdout: string }) => error,
    );
    expect((diff as { code?: number }).code).toBe(1);
    const changed = diff.stdout
      .split('\n')
      .filter((line) => /^[+-] /.test(line))
      .join('\n');
    expect(changed).toContain('+          "key": "financial_account",');
    expect(changed).toContain('-      "piaRef": null,');
    expect(changed).toContain('+      "piaRef": "PIA-2026-09",');
    expect(changed).toContain('+      "purpose": "marketing.personalized",');
    expect(changed).not.toContain('health.records');
  });

  it('loads a .ts module exporting definePolicy() when run under tsx', async () => {
    const ts = join(dir, 'policy.ts');
    const src = resolve('src/index.ts');
    writeFileSync(
      ts,
      `import { definePolicy } from ${JSON.stringify(src)};\nexport const policy = definePolicy(${JSON.stringify(BASE)} as never);\n`,
    );
    const { code, stdout } = await runCli(['policy', 'records', '--policy', ts, '--format', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).purposes).toHaveLength(2);
  });

  it('refuses a missing module, a module without a policy, an invalid policy and bad options (exit 2)', async () => {
    const none = join(dir, 'none.mjs');
    writeFileSync(none, 'export const other = 1;\n');
    const bad = join(dir, 'bad.mjs');
    writeFileSync(
      bad,
      `export default ${JSON.stringify({ ...BASE, purposes: { x: { basis: 'nope' } } })};\n`,
    );
    const cases: [string[], RegExp][] = [
      [['--policy', join(dir, 'missing.mjs')], /cannot load policy module .*ERR_MODULE_NOT_FOUND/],
      [['--policy', none], /exports no policy/],
      [['--policy', bad], /Invalid pipl-guard policy/],
      [['--policy', v1, '--format', 'pdf'], /--format is one of md, json, html/],
      [['--policy', v1, '--lang', 'fr'], /--lang is one of zh-CN, en/],
      [[], /needs --policy/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['policy', 'records', ...args])));
    for (const [i, [args, message]] of cases.entries()) {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      expect(results[i]?.stderr).toMatch(message);
    }
  }, 90_000);
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPRECATED_REASON_ALIASES, REASON_ARTICLES, REASONS, type ReasonCode } from '../../src/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's reason-code table: code → [status, effect, article]. */
function readmeTable(): Map<string, string[]> {
  const start = readme.indexOf('| code | status | effect | article | meaning |');
  expect(start).toBeGreaterThan(-1);
  const rows = readme.slice(start).split('\n\n')[0]?.split('\n').slice(2) ?? [];
  return new Map(
    rows.map((row) => {
      const [code = '', ...cells] = row
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      return [code.replaceAll('`', ''), cells];
    }),
  );
}

describe('reason codes name their article', () => {
  it('every code has one article, and the README table says the same', () => {
    const table = readmeTable();
    expect([...table.keys()].sort()).toEqual(Object.keys(REASONS).sort());
    for (const [code, spec] of Object.entries(REASONS) as [ReasonCode, (typeof REASONS)[ReasonCode]][]) {
      const article = REASON_ARTICLES[code];
      expect(article, code).toMatch(/^Art\. \d+/);
      expect(table.get(code)?.slice(0, 3), code).toEqual([String(spec.status), spec.effect, article]);
      // One article per code; only the deprecated alias lists several.
      if (code !== 'separate_consent_required') expect(article, code).not.toContain(',');
    }
  });

  it('the split separate-consent codes alias the deprecated one and cite their own article', () => {
    expect(DEPRECATED_REASON_ALIASES).toEqual({
      sensitive_separate_consent_required: 'separate_consent_required',
      provision_separate_consent_required: 'separate_consent_required',
      disclosure_separate_consent_required: 'separate_consent_required',
      cross_border_separate_consent_required: 'separate_consent_required',
    });
    expect(REASON_ARTICLES.sensitive_separate_consent_required).toBe('Art. 29');
    expect(REASON_ARTICLES.provision_separate_consent_required).toBe('Art. 23');
    expect(REASON_ARTICLES.disclosure_separate_consent_required).toBe('Art. 25');
    expect(REASON_ARTICLES.cross_border_separate_consent_required).toBe('Art. 39');
    for (const code of Object.keys(DEPRECATED_REASON_ALIASES) as ReasonCode[]) {
      expect(REASONS[code].title).toContain(REASON_ARTICLES[code]);
    }
  });

  it('the decision path never emits the deprecated code', () => {
    const source = readFileSync(new URL('../../src/decide/decide.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/'separate_consent_required'/);
  });
});

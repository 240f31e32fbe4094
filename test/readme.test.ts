import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { chainedAuditSink } from '../src/audit/chained-sink.js';
import { type AuditTrailReport, verifyAuditTrail } from '../src/audit/verify-trail.js';
import {
  type AuditSink,
  createPiplGuard,
  definePolicy,
  isPiplGuardError,
  type MemoryAuditSink,
  memoryAuditSink,
  REASONS,
} from '../src/index.js';
import { guardOptions, makeKeys, tokenFor } from './support/fixture.js';

// Claims of README.md checked against the package itself.
/** A policy needing no consent token, for snippets that only write the log. */
const sinkPolicy = definePolicy({
  notice: { id: 'readme', version: 1 },
  purposes: {
    'order.fulfilment': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
    },
  },
});

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The lines of the README section under `heading`, up to the next `## ` heading. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + heading.length + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README reason-code table', () => {
  const rows = section('## Reason codes')
    .split('\n')
    .map((line) => /^\| `([a-z_0-9]+)` \| (\d{3}) \| (\w+) \|/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ code: match[1], status: Number(match[2]), effect: match[3] }));

  it('lists every code of the package, with its status and effect, and nothing else', () => {
    const codes = Object.entries(REASONS).map(([code, reason]) => ({
      code,
      status: reason.status,
      effect: reason.effect,
    }));
    expect(rows.length).toBeGreaterThan(0);
    expect([...rows].sort((a, b) => String(a.code).localeCompare(String(b.code)))).toEqual(
      codes.sort((a, b) => a.code.localeCompare(b.code)),
    );
  });
});

describe('README: the framework-free check API', () => {
  const snippet = /```ts\n(const records = pipl\.requirement[\s\S]*?)```/.exec(readme)?.[1];
  const AsyncFunction = (async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<void>;

  it('runs as written: allowed with consent, audited with its outcome; a denial is thrown', async () => {
    expect(snippet).toBeDefined();
    const run = new AsyncFunction('pipl', 'job', snippet as string);
    const keys = await makeKeys();
    const { guard, audit } = guardOptions(keys);
    const grants = [
      {
        purpose: 'health.records',
        categories: ['medical_health'],
        ops: ['use' as const],
        consentType: 'separate' as const,
      },
    ];
    const consentToken = await tokenFor(keys, { subject: 'u42', grants });
    await run(guard, { consentToken, userId: 'u42' });
    const records = (audit as MemoryAuditSink).records;
    expect(records.map((record) => [record.type, 'reason' in record ? record.reason : undefined])).toEqual([
      ['policy', undefined], // the rules in force, once per guard start (Art. 69)
      ['decision', 'consent_valid'],
      ['outcome', undefined],
    ]);
    expect(records[1]).toMatchObject({ route: '/jobs/export', actor: { id: 'export-job', type: 'service' } });

    const refused = await run(guard, { consentToken, userId: 'u43' }).catch((error: unknown) => error);
    expect(isPiplGuardError(refused) && refused.code).toBe('subject_mismatch');
  });
});

describe('README: a sink of your own', () => {
  const snippet = /```ts\n(const lines: string\[\] = \[\];[\s\S]*?)```/.exec(readme)?.[1];
  const AsyncFunction = (async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<{ lines: string[]; report: AuditTrailReport }>;

  it('runs as written: the store holds a chain that verifies', async () => {
    expect(snippet).toBeDefined();
    // Types stripped by the TypeScript compiler, nothing else changed.
    const js = ts.transpileModule(snippet as string, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    const run = new AsyncFunction(
      'chainedAuditSink',
      'createPiplGuard',
      'policy',
      'verifyAuditTrail',
      `${js}\nreturn { lines, report };`,
    );
    const { lines, report } = await run(chainedAuditSink, createPiplGuard, sinkPolicy, verifyAuditTrail);
    expect(report).toMatchObject({ valid: true, chain: 'orders-api-1', firstSeq: 0 });
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(['writer_start', 'policy', 'writer_stop']);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
  });
});

describe('README Public API section', () => {
  // Every entry point of package.json's exports map, so a new subpath cannot go unlisted.
  const entries = Object.keys(
    (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: object })
      .exports,
  )
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? 'pipl-guard' : `pipl-guard/${key.slice(2)}`));
  it.each(entries.map((entry) => [entry, () => import(/* @vite-ignore */ entry)] as const))(
    'lists every export of %s in its row',
    async (entry, load) => {
      const row = section('## Public API')
        .split('\n')
        .find((line) => line.startsWith(`| \`${entry}\` |`));
      expect(row, entry).toBeDefined();
      const listed = [...(row as string).matchAll(/`([A-Za-z_0-9]+)`/g)].map((match) => match[1]);
      expect(listed.sort()).toEqual(Object.keys(await load()).sort());
    },
  );
});

describe('README: audit.durable, audit.service and audit.instance', () => {
  const durableFlags = async (durable: 'sensitive' | 'always' | 'never' | undefined) => {
    const keys = await makeKeys();
    const inner = memoryAuditSink();
    const flags: [string, boolean][] = [];
    const sink: AuditSink = {
      get healthy() {
        return inner.healthy;
      },
      append(event, isDurable = false) {
        if (event.type === 'decision') flags.push([event.purpose, isDurable]);
        return inner.append(event, isDurable);
      },
      noteDropped: (cause) => inner.noteDropped(cause),
      flush: () => inner.flush(),
      close: () => inner.close(),
    };
    const audit = { sink, subjectKey: false as const, service: 'shop-api', instance: 'pod-7' };
    const { guard } = guardOptions(keys, { audit: durable ? { ...audit, durable } : audit });
    const grants = [
      {
        purpose: 'health.records',
        categories: ['medical_health'],
        ops: ['use' as const],
        consentType: 'separate' as const,
      },
      {
        purpose: 'account.profile',
        categories: ['contact'],
        ops: ['use' as const],
        consentType: 'general' as const,
      },
    ];
    const token = await tokenFor(keys, { grants });
    for (const purpose of ['health.records', 'account.profile'] as const) {
      const requirement = guard.requirement(purpose, {
        operation: 'use',
        categories: purpose === 'account.profile' ? ['contact'] : undefined,
      });
      const outcome = await guard.check(requirement, {
        method: 'GET',
        route: '/x',
        header: (name) => (name === 'pipl-consent' ? token : undefined),
        subjectId: undefined,
        subjectDeclared: false,
        actor: null,
      });
      expect(outcome.error).toBeUndefined();
    }
    expect(inner.records[0]).toMatchObject({ enforcer: { service: 'shop-api', instance: 'pod-7' } });
    return flags;
  };

  it("sensitive purposes are durable whatever it says; 'always' adds the others, 'never' and 'sensitive' do not", async () => {
    const sensitiveOnly = [
      ['health.records', true],
      ['account.profile', false],
    ];
    expect(await durableFlags(undefined)).toEqual(sensitiveOnly);
    expect(await durableFlags('sensitive')).toEqual(sensitiveOnly);
    expect(await durableFlags('always')).toEqual([
      ['health.records', true],
      ['account.profile', true],
    ]);
    expect(await durableFlags('never')).toEqual([
      ['health.records', true],
      ['account.profile', false],
    ]);
  });
});

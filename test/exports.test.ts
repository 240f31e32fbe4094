import { describe, expect, it } from 'vitest';
import {
  isPiplError,
  isPiplGuardError,
  PiplConfigError,
  PiplError,
  PiplGuardError,
} from '../src/errors/errors.js';

// The public surface is API: a name added to or dropped from an entry point must show up here, in
// review, and in the README's "Public API" section. Types are erased, so these are the values.
const names = (module: object) => Object.keys(module).sort();

describe('export names of every entry point', () => {
  it('pipl-guard', async () => {
    expect(names(await import('pipl-guard'))).toMatchInlineSnapshot(`
      [
        "AGE_BANDS",
        "BUILTIN_CATEGORIES",
        "CONSENT_CLAIM",
        "CONSENT_TOKEN_TYPE",
        "CONSENT_TYPES",
        "LEGAL_BASES",
        "OPERATIONS",
        "PiplConfigError",
        "PiplError",
        "PiplGuardError",
        "REASONS",
        "TRANSFER_MECHANISMS",
        "VERSION",
        "createConsentVerifier",
        "createPiplGuard",
        "definePolicy",
        "fileAuditSink",
        "isPiplError",
        "isPiplGuardError",
        "issueConsentToken",
        "memoryAuditSink",
        "memoryRevocationStore",
      ]
    `);
  });
  it('pipl-guard/audit', async () => {
    expect(names(await import('pipl-guard/audit'))).toMatchInlineSnapshot(`
      [
        "AUDIT_SCHEMA_VERSION",
        "CHECKPOINT_TYPE",
        "CSV_COLUMNS",
        "auditStats",
        "checkpointDigest",
        "checkpointFiles",
        "createBatchWriter",
        "createPseudonymizer",
        "logFiles",
        "queryAudit",
        "readAuditLines",
        "signCheckpoint",
        "subjectKeyId",
        "toCsvRow",
        "toOcsf",
        "verifyAuditLog",
        "verifyAuditTrail",
        "verifyCheckpoint",
      ]
    `);
  });
  it('pipl-guard/express', async () => {
    expect(names(await import('pipl-guard/express'))).toMatchInlineSnapshot(`
      [
        "expressGuard",
        "piplProblemHandler",
        "sendProblem",
      ]
    `);
  });
  it('pipl-guard/koa', async () => {
    expect(names(await import('pipl-guard/koa'))).toMatchInlineSnapshot(`
      [
        "koaGuard",
        "piplProblems",
        "sendProblem",
      ]
    `);
  });
  it('pipl-guard/postgres', async () => {
    expect(names(await import('pipl-guard/postgres'))).toMatchInlineSnapshot(`
      [
        "AUDIT_TABLE_SQL",
        "CHECKPOINT_ROLE_SQL",
        "DEFAULT_AUDIT_TABLE",
        "INSERT_ONLY_ROLE_SQL",
        "auditIdentifier",
        "migrateAuditTable",
        "pgAuditLines",
        "pgChains",
        "pgCheckpoints",
        "postgresAuditSink",
      ]
    `);
  });
  it('pipl-guard/redis', async () => {
    expect(names(await import('pipl-guard/redis'))).toMatchInlineSnapshot(`
      [
        "DEFAULT_REVOCATION_PREFIX",
        "REVOCATION_GRACE_SEC",
        "redisRevocationStore",
      ]
    `);
  });
  it('no internals in the root', async () => {
    const root = await import('pipl-guard');
    for (const internal of [
      'genesisHash',
      'refuse',
      'decide',
      'createTokenExtractor',
      'compileRequirement',
      'normalizeActor',
      'operationSchema',
      'consentClaimsSchema',
      'verifyAuditLog',
    ]) {
      expect(root, internal).not.toHaveProperty(internal);
    }
  });
});

describe('one error base', () => {
  it('PiplGuardError and PiplConfigError are both PiplError, with a code and a brand', () => {
    const denial = new PiplGuardError('consent_required');
    const config = new PiplConfigError('audit.sink is required');
    expect(denial).toBeInstanceOf(PiplError);
    expect(config).toBeInstanceOf(PiplError);
    expect([denial.code, config.code]).toEqual(['consent_required', 'config_invalid']);
    expect([isPiplError(denial), isPiplError(config), isPiplError(new Error('x'))]).toEqual([
      true,
      true,
      false,
    ]);
    // Adapters render only denials; a configuration error is not one.
    expect([isPiplGuardError(denial), isPiplGuardError(config)]).toEqual([true, false]);
  });

  it('a denial carries no stack trace', () => {
    const denial = new PiplGuardError('token_invalid', 'Consent token failed verification');
    expect(denial.stack).toBe('PiplGuardError: Consent token failed verification');
  });
});

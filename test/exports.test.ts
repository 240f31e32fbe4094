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
        "DEPRECATED_REASON_ALIASES",
        "GUARDIAN_METHODS",
        "LEGAL_BASES",
        "OPERATIONS",
        "OPT_OUT_KINDS",
        "PiplConfigError",
        "PiplError",
        "PiplGuardError",
        "REASONS",
        "REASON_ARTICLES",
        "RIGHTS_REQUESTS",
        "TRANSFER_EXEMPTIONS",
        "TRANSFER_MECHANISMS",
        "VERSION",
        "compileScope",
        "createConsentKeyring",
        "createConsentVerifier",
        "createPiplGuard",
        "definePolicy",
        "fileAuditSink",
        "filterByScope",
        "isPiplError",
        "isPiplGuardError",
        "isWithdrawnBy",
        "issueConsentToken",
        "jwksHandler",
        "memoryAuditSink",
        "memoryRevocationStore",
        "memorySubjectStore",
        "pii",
        "schemaCategories",
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
        "chainedAuditSink",
        "checkpointDigest",
        "checkpointFiles",
        "createBatchWriter",
        "createPseudonymizer",
        "createTransferCounter",
        "logFiles",
        "queryAudit",
        "readAuditLines",
        "signCheckpoint",
        "subjectHistory",
        "subjectKeyId",
        "toCsvRow",
        "toOcsf",
        "transferStats",
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
        "subjectRoutes",
      ]
    `);
  });
  it('pipl-guard/koa', async () => {
    expect(names(await import('pipl-guard/koa'))).toMatchInlineSnapshot(`
      [
        "koaGuard",
        "piplProblems",
        "sendProblem",
        "subjectRoutes",
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
        "redisSubjectStore",
      ]
    `);
  });
  it('pipl-guard/diagnostics', async () => {
    expect(names(await import('pipl-guard/diagnostics'))).toMatchInlineSnapshot(`
      [
        "AUDIT_CHANNEL",
        "DECISION_CHANNEL",
        "SUBJECT_CHANNEL",
        "TOKEN_CACHE_CHANNEL",
      ]
    `);
  });
  it('pipl-guard/otel', async () => {
    expect(names(await import('pipl-guard/otel'))).toMatchInlineSnapshot(`
      [
        "instrumentPipl",
      ]
    `);
  });
  it('pipl-guard/openapi', async () => {
    expect(names(await import('pipl-guard/openapi'))).toMatchInlineSnapshot(`
      [
        "expressRoutes",
        "koaRoutes",
        "refusalsOf",
        "withPiplOpenApi",
      ]
    `);
  });
  it('pipl-guard/decorators', async () => {
    expect(names(await import('pipl-guard/decorators'))).toMatchInlineSnapshot(`
      [
        "PiplExempt",
        "Route",
        "createDecorators",
        "mountExpressController",
        "mountKoaController",
      ]
    `);
  });
  it('pipl-guard/nestjs', async () => {
    expect(names(await import('pipl-guard/nestjs'))).toMatchInlineSnapshot(`
      [
        "PIPL_OPTIONS",
        "PiplDecision",
        "PiplExempt",
        "PiplModule",
        "PiplNestGuard",
        "PiplProblemFilter",
        "createDecorators",
      ]
    `);
  });
  it('pipl-guard/midway', async () => {
    expect(names(await import('pipl-guard/midway'))).toMatchInlineSnapshot(`
      [
        "PiplExempt",
        "PiplMidwayFilter",
        "createDecorators",
        "piplMidwayGuard",
        "piplMidwayMiddleware",
      ]
    `);
  });
  it('pipl-guard/routing-controllers', async () => {
    expect(names(await import('pipl-guard/routing-controllers'))).toMatchInlineSnapshot(`
      [
        "PiplExempt",
        "routingControllersDecorators",
      ]
    `);
  });
  it('pipl-guard/records', async () => {
    expect(names(await import('pipl-guard/records'))).toMatchInlineSnapshot(`
      [
        "LANGS",
        "recordsHtml",
        "recordsMarkdown",
        "recordsOfProcessing",
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

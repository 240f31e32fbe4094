/**
 * `pipl-guard report` on a PostgreSQL audit table: the auditor of a deployment whose instances log to
 * one database gets the same report as from files. Two instances (two chains) written by real guards
 * over HTTP into a real table with signed checkpoints; the CLI run as its users run it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressGuard } from '../src/adapters/express/index.js';
import { createPiplGuard } from '../src/index.js';
import { CHECKPOINT_ROLE_SQL, migrateAuditTable, postgresAuditSink } from '../src/postgres/index.js';
import { AUDIT_KEY, guardOptions, makeKeys, tokenFor } from './support/fixture.js';
import {
  DATABASE_URL,
  dropAuditTables,
  makePool,
  postgresAvailable,
  tamperAsOwner,
} from './support/postgres.js';
import { runCli } from './support/processes.js';

const available = await postgresAvailable('report-postgres.test.ts');

const run = randomBytes(4).toString('hex');
const TABLE = `pipl_audit_report_${run}`;
const EMPTY = `pipl_audit_report_empty_${run}`;
const CHECKPOINTER = `pipl_report_cp_${run}`;
const KID = 'report-pg-1';

describe.skipIf(!available)(
  'pipl-guard report on a postgres:// source (real server)',
  { timeout: 60_000 },
  () => {
    let admin: pg.Pool;
    let cpPool: pg.Pool;
    let dir: string;
    let jwks: string;
    /** Decisions each instance recorded: [allowed, denied]. */
    const requests = { 'api-1': [3, 1], 'api-2': [2, 2] } as const;

    beforeAll(async () => {
      admin = makePool();
      await migrateAuditTable(admin, TABLE);
      await admin.query(CHECKPOINT_ROLE_SQL(CHECKPOINTER, TABLE));
      cpPool = makePool({ options: `-c role=${CHECKPOINTER}` });
      dir = mkdtempSync(join(tmpdir(), 'pipl-report-pg-'));
      const pair = await generateKeyPair('EdDSA', { extractable: true });
      jwks = join(dir, 'jwks.json');
      writeFileSync(
        jwks,
        JSON.stringify({
          keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' }],
        }),
      );
      const keys = await makeKeys();
      const token = await tokenFor(keys);
      for (const [chain, [allowed, denied]] of Object.entries(requests)) {
        const pool = makePool();
        const sink = await postgresAuditSink({
          pool,
          chain,
          table: TABLE,
          enforcer: { instance: chain },
          checkpoint: { key: pair.privateKey, kid: KID, everyRecords: 4, everyMs: 3_600_000, pool: cpPool },
        });
        const { options } = guardOptions(keys);
        const pipl = createPiplGuard({ ...options, audit: { sink, subjectKey: AUDIT_KEY } });
        const app = express();
        app.get(
          '/users/:id/profile',
          expressGuard(pipl)('account.profile', {
            operation: 'use',
            subject: (req) => String(req.params.id),
          }),
          (_req, res) => {
            res.json({ ok: true });
          },
        );
        for (let i = 0; i < allowed; i++)
          await request(app).get('/users/user-1/profile').set('pipl-consent', token).expect(200);
        for (let i = 0; i < denied; i++) await request(app).get('/users/user-1/profile').expect(403);
        await pipl.close();
        await pool.end();
      }
    });

    afterAll(async () => {
      if (!admin) return;
      await cpPool.end();
      await dropAuditTables(admin, [TABLE, EMPTY], [CHECKPOINTER]);
      await admin.end();
    });

    it('verifies every chain in the table with its signed checkpoints and charts them all', async () => {
      // A password and parameters in the URL (trust auth ignores the password) never reach the report.
      const url = new URL(DATABASE_URL);
      url.password = 'hunter2-secret';
      url.searchParams.set('application_name', 'report-secret-param');
      const out = join(dir, 'report.html');
      const result = await runCli(['report', url.toString(), '--table', TABLE, '--out', out, '--keys', jwks]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('8 decisions in 19 records');
      expect(result.stdout).toMatch(/log VALID/);
      expect(result.stdout + result.stderr).not.toContain('hunter2');
      const html = readFileSync(out, 'utf8');
      expect(html).not.toContain('hunter2');
      expect(html).not.toContain('report-secret-param');
      expect(html).toContain(`${url.host}${url.pathname} (table ${TABLE})`);
      expect(html).toContain('<span id="decision-total">8</span>');
      for (const chain of Object.keys(requests)) {
        // One verification row per chain, valid, its checkpoints checked with the keys.
        const row = new RegExp(
          `<tr><td>${chain}</td><td>postgres:${TABLE}/${chain}</td><td class="ok">[^<]+</td><td class="n">(\\d+)</td><td>SHA-256</td><td>[^<]+</td><td>(\\d+) / (\\d+)</td>`,
        ).exec(html);
        expect(row, chain).not.toBeNull();
        const [, records, validCheckpoints, checkpoints] = row as RegExpExecArray;
        expect(Number(records)).toBeGreaterThan(0);
        expect(Number(checkpoints)).toBeGreaterThan(0);
        expect(validCheckpoints).toBe(checkpoints);
      }
    });

    it('--chain reports one chain', async () => {
      const out = join(dir, 'one.html');
      const result = await runCli([
        'report',
        DATABASE_URL,
        '--table',
        TABLE,
        '--chain',
        'api-2',
        '--out',
        out,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('4 decisions');
      const html = readFileSync(out, 'utf8');
      expect(html).toContain(`postgres:${TABLE}/api-2`);
      expect(html).not.toContain(`postgres:${TABLE}/api-1`);
    });

    it('reports a row deleted by the table owner as INVALID, exit 1', async () => {
      await tamperAsOwner(admin, TABLE, [`DELETE FROM "${TABLE}" WHERE chain = 'api-1' AND seq = 3`]);
      const out = join(dir, 'tampered.html');
      const result = await runCli(['report', DATABASE_URL, '--table', TABLE, '--out', out, '--keys', jwks]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toMatch(/log INVALID/);
      const html = readFileSync(out, 'utf8');
      expect(html).toMatch(new RegExp(`<tr><td>api-1</td><td>postgres:${TABLE}/api-1</td><td class="bad">`));
      expect(html).toMatch(new RegExp(`<tr><td>api-2</td><td>postgres:${TABLE}/api-2</td><td class="ok">`));
    });

    it('refuses what it cannot read with exit 2 and writes nothing', async () => {
      await migrateAuditTable(admin, EMPTY);
      const out = join(dir, 'never.html');
      const cases: [string[], RegExp][] = [
        [[DATABASE_URL, '--table', TABLE, '--chain', 'nope', '--out', out], /no chain "nope".*api-1, api-2/],
        [[DATABASE_URL, '--table', `missing_${run}`, '--out', out], /cannot read the audit table/],
        [[DATABASE_URL, '--table', EMPTY, '--out', out], /holds no records/],
        [['postgres://postgres:pw-secret@127.0.0.1:1/test', '--out', out], /cannot read the audit table/],
        [[dir, '--table', TABLE, '--out', out], /only apply to a postgres:\/\/ source/],
      ];
      const results = await Promise.all(cases.map(([args]) => runCli(['report', ...args])));
      for (const [i, [args, message]] of cases.entries()) {
        expect(results[i]?.code, args.join(' ')).toBe(2);
        expect(results[i]?.stderr).toMatch(message);
        expect(results[i]?.stderr).not.toContain('pw-secret');
      }
      expect(existsSync(out)).toBe(false);
    });
  },
);

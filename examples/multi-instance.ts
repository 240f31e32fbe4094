// Two API instances of the shop, as in production: audit records go to PostgreSQL (one chain per
// instance, insert-only table), withdrawals go through Redis (one instance withdraws, every
// instance refuses). Needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL, or the local defaults.
//   npm run demo:multi
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { decodeJwt, generateKeyPair } from 'jose';
import pg from 'pg';
import { createPiplGuard } from 'pipl-guard';
import { verifyAuditTrail } from 'pipl-guard/audit';
import { expressGuard } from 'pipl-guard/express';
import { migrateAuditTable, pgAuditLines, postgresAuditSink } from 'pipl-guard/postgres';
import { redisRevocationStore } from 'pipl-guard/redis';
import { AUDIENCE, ISSUER, policy } from './policy.js';
import { issueShopToken, views } from './shared.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TABLE = 'pipl_audit_demo';
const auditKey = process.env.PIPL_AUDIT_KEY ?? randomBytes(32).toString('base64url');

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
pool.on('error', () => {}); // idle-client errors: the sink reports write failures itself
await migrateAuditTable(pool, TABLE);
const { privateKey, publicKey } = await generateKeyPair('ES256');

/** One instance: its own audit chain and its own Redis connection, the same policy and keys. */
async function startInstance(name: string) {
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // reconnects on its own; meanwhile requests get 503
  await new Promise((resolve) => redis.once('ready', resolve));
  const pipl = createPiplGuard({
    policy,
    consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], key: publicKey },
    revocations: redisRevocationStore({ client: redis }),
    audit: {
      sink: await postgresAuditSink({ pool, chain: name, table: TABLE }),
      subjectKey: auditKey,
      instance: name,
    },
  });
  const guard = expressGuard(pipl);
  const app = express();
  const subject = (req: express.Request) => req.params.userId;
  app.get(
    '/users/:userId/prescriptions',
    guard('health.prescriptions', { operation: 'use', subject }),
    (req, res) => {
      res.json(views.prescriptions(String(req.params.userId), res.locals.pipl));
    },
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    await new Promise((resolve) => server.close(resolve));
    await pipl.close();
    redis.disconnect();
  };
  return { name, pipl, url, stop };
}

const instances = [await startInstance('shop-api-1'), await startInstance('shop-api-2')];
const [first, second] = instances as [(typeof instances)[0], (typeof instances)[0]];
const token = await issueShopToken(privateKey, {
  subject: 'u1001',
  grants: [
    {
      purpose: 'health.prescriptions',
      categories: ['medical_health', 'identity_basic'],
      ops: ['use'],
      consentType: 'separate',
    },
  ],
});

async function ask(instance: typeof first, expected: string) {
  const res = await fetch(`${instance.url}/users/u1001/prescriptions`, {
    headers: { 'pipl-consent': token },
  });
  const body = (await res.json()) as { decision?: string; code?: string };
  const got = body.decision ?? body.code;
  console.log(`${got === expected ? '✓' : '✗'} ${instance.name}  ${res.status} ${got}`);
  return got === expected;
}

console.log(`Two instances, audit in PostgreSQL table ${TABLE}, withdrawals in Redis\n`);
let ok = (await ask(first, 'consent_valid')) && (await ask(second, 'consent_valid'));
const consentId = decodeJwt(token).jti as string;
await first.pipl.withdraw(consentId, Math.floor(Date.now() / 1000) + 600);
console.log(`  ${first.name} withdraws consent ${consentId} (Art. 15)`);
ok = (await ask(second, 'consent_withdrawn')) && ok;
ok = (await ask(first, 'consent_withdrawn')) && ok;
for (const instance of instances) await instance.stop();

console.log('\nAudit chains, verified from the rows:');
for (const instance of instances) {
  const report = await verifyAuditTrail(pgAuditLines(pool, { chain: instance.name, table: TABLE }));
  ok = ok && report.valid;
  console.log(
    `${report.valid ? '✓' : '✗'} ${instance.name}: ${report.records.total} records, seq ${report.firstSeq}..${report.lastSeq}`,
  );
}
try {
  await pool.query(`UPDATE ${TABLE} SET reason = 'consent_valid' WHERE chain = 'shop-api-2'`);
  console.log('✗ the audit table accepted an UPDATE');
  ok = false;
} catch (error) {
  console.log(`✓ UPDATE refused by the table: ${(error as Error).message}`);
}
await pool.end();
console.log(
  `\nAs an auditor: npm run pipl-guard -- audit verify ${DATABASE_URL} --table ${TABLE} --chain shop-api-2`,
);
process.exitCode = ok ? 0 : 1;

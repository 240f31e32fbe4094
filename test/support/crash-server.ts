/**
 * A real server for the crash-safety test (test/audit/crash.test.ts), meant to be killed with SIGKILL.
 *
 * Usage: node --import tsx test/support/crash-server.ts <audit-log-path> <consent public JWK as JSON>
 *
 * One guarded Express route, GET /users/:id/health, on purpose `health.records` (medical_health,
 * sensitive: separate consent required, audit durability declared `durable`), so every 2xx is only
 * sent after its `decision` record was fdatasync'ed by the file sink's group commit.
 * Prints `PORT <n>` on stdout once listening on an ephemeral 127.0.0.1 port.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { JWK } from 'jose';
import { expressGuard } from '../../src/adapters/express/index.js';
import { createPiplGuard, definePolicy, fileAuditSink } from '../../src/index.js';
import { AUDIENCE, AUDIT_KEY, ISSUER } from './fixture.js';

const [path, jwkJson] = process.argv.slice(2);
if (!path || !jwkJson) {
  console.error('usage: crash-server.ts <audit-log-path> <public-jwk-json>');
  process.exit(2);
}
const publicJwk = JSON.parse(jwkJson) as JWK;

const policy = definePolicy({
  notice: { id: 'test-notice', version: 2 },
  purposes: {
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-CRASH-1',
      audit: { durability: 'durable' },
    },
  },
});

const pipl = createPiplGuard({
  policy,
  consent: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { keys: [publicJwk] } },
  audit: { sink: fileAuditSink({ path }), subjectKey: AUDIT_KEY },
});
await pipl.ready();

const guard = expressGuard(pipl);
const app = express();
app.get(
  '/users/:id/health',
  guard('health.records', { operation: 'use', subject: (req) => String(req.params.id) }),
  (_req, res) => {
    res.json({ ok: true, requestId: res.locals.pipl?.requestId });
  },
);

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});

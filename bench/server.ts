/**
 * One benchmark server, run in its own process by `guard-vs-bare.ts`:
 *
 *   node --import tsx bench/server.ts <scenario>
 *
 * Environment: BENCH_JWK (the issuer's public JWK, JSON) and BENCH_AUDIT_PATH (audit file) for
 * guarded scenarios; BENCH_PEM (the same public key, SPKI PEM) for the peer scenarios. Listens on 127.0.0.1 on a free port and prints `{"type":"ready","port":…}` on
 * stdout. A `cpu` line on stdin answers with the process's CPU time so far; a `stop` line (or SIGTERM/SIGINT) closes the server and the audit sink
 * (writer_stop, flush, fsync), prints `{"type":"stopped"}` and exits.
 */
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Router } from '@koa/router';
import express from 'express';
import { expressjwt } from 'express-jwt';
import { auth } from 'express-oauth2-jwt-bearer';
import { importSPKI, type JWK, jwtVerify } from 'jose';
import Koa from 'koa';
import koaJwt from 'koa-jwt';
import { expressGuard } from '../src/adapters/express/index.js';
import { koaGuard } from '../src/adapters/koa/index.js';
import { createPiplGuard, fileAuditSink, type PiplGuard } from '../src/index.js';
import {
  AUDIENCE,
  AUDIT_KEY,
  benchConsent,
  HEALTH_PATH,
  ISSUER,
  isScenarioName,
  type Peer,
  policy,
  responseBody,
  SCENARIOS,
  type Scenario,
  type ServerMessage,
} from './shared.js';

function send(message: ServerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function fail(message: string): never {
  send({ type: 'error', message });
  process.exit(1);
}

type BenchPurpose = 'account.profile' | 'health.records';

function buildGuard(scenario: Scenario): PiplGuard<BenchPurpose, never> | undefined {
  if (!scenario.guard) return undefined;
  const jwkText = process.env.BENCH_JWK;
  const auditPath = process.env.BENCH_AUDIT_PATH;
  if (!jwkText || !auditPath) fail('guarded scenarios need BENCH_JWK and BENCH_AUDIT_PATH');
  const jwk = JSON.parse(jwkText) as JWK;
  return createPiplGuard({
    policy,
    consent: benchConsent(jwk, scenario.guard.verifierCache),
    // Default options otherwise: durable 'sensitive', default queue limits, default token location.
    // BENCH_OUTCOMES=0 leaves out the outcome records, to measure what they cost (bench/README).
    audit: {
      sink: fileAuditSink({ path: auditPath }),
      subjectKey: AUDIT_KEY,
      outcomes: process.env.BENCH_OUTCOMES !== '0',
    },
  });
}

function pem(): string {
  const text = process.env.BENCH_PEM;
  if (!text) fail('peer scenarios need BENCH_PEM');
  return text;
}

/** The peer's middleware, configured as its README says, checking the same claims the guard checks. */
async function expressPeer(peer: Peer): Promise<express.RequestHandler> {
  if (peer === 'auth0') {
    return auth({ issuer: ISSUER, audience: AUDIENCE, publicKey: pem(), tokenSigningAlg: 'ES256' });
  }
  if (peer === 'express-jwt') {
    return expressjwt({ secret: pem(), algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE });
  }
  if (peer === 'jose') {
    const key = await importSPKI(pem(), 'ES256');
    const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] };
    return function joseVerify(req, res, next) {
      const header = req.headers.authorization ?? '';
      jwtVerify(header.slice(7), key, options).then(
        () => next(),
        () => res.status(401).end(),
      );
    };
  }
  return fail(`no Express peer "${peer}"`);
}

async function expressApp(scenario: Scenario, pipl: PiplGuard<BenchPurpose, never> | undefined) {
  const app = express();
  const handler = (req: express.Request, res: express.Response) => {
    res.json(responseBody(String(req.params.id)));
  };
  if (scenario.peer) {
    app.get('/users/:id/profile', await expressPeer(scenario.peer), handler);
    // The peers refuse with an error carrying its status; answer it without Express's stack dump.
    app.use(
      (
        error: { status?: number },
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(error.status ?? 500).end();
      },
    );
    return app;
  }
  if (!pipl || !scenario.guard) {
    app.get('/users/:id/profile', handler);
    app.get('/users/:id/health', handler);
    return app;
  }
  const guard = expressGuard(pipl);
  const route = scenario.path === HEALTH_PATH ? '/users/:id/health' : '/users/:id/profile';
  app.get(
    route,
    guard(scenario.guard.purpose, { operation: 'use', subject: (req) => String(req.params.id) }),
    handler,
  );
  return app;
}

function koaApp(scenario: Scenario, pipl: PiplGuard<BenchPurpose, never> | undefined) {
  const app = new Koa();
  const router = new Router();
  const handler = (ctx: Koa.Context) => {
    ctx.body = responseBody(ctx.params.id);
  };
  if (scenario.peer === 'koa-jwt') {
    router.get(
      '/users/:id/profile',
      koaJwt({ secret: pem(), algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE }),
      handler,
    );
  } else if (!pipl || !scenario.guard) {
    router.get('/users/:id/profile', handler);
    router.get('/users/:id/health', handler);
  } else {
    const guard = koaGuard(pipl);
    const route = scenario.path === HEALTH_PATH ? '/users/:id/health' : '/users/:id/profile';
    router.get(
      route,
      guard(scenario.guard.purpose, { operation: 'use', subject: (ctx) => ctx.params.id }),
      handler,
    );
  }
  app.use(router.routes());
  return app;
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  if (!isScenarioName(name)) fail(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const scenario: Scenario = SCENARIOS[name];
  const pipl = buildGuard(scenario);
  await pipl?.ready();

  const listener =
    scenario.framework === 'express' ? await expressApp(scenario, pipl) : koaApp(scenario, pipl).callback();
  const server = createServer(listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') fail('server has no TCP address');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pipl?.close();
      send({ type: 'stopped', pid: process.pid });
      process.exit(0);
    })().catch((error: unknown) => fail(`stop failed: ${(error as Error).message}`));
    return stopping;
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const command = line.trim();
    if (command === 'stop') void stop();
    if (command === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', userUs: user, systemUs: system });
    }
  });
  // The parent went away: stop too, so no server is left behind.
  input.on('close', () => void stop());

  send({ type: 'ready', port: address.port, pid: process.pid });
}

main().catch((error: unknown) => fail((error as Error).stack ?? String(error)));

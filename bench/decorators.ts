/**
 * Decorator integrations, one run, ratios: a NestJS route behind PiplNestGuard vs the same Nest route
 * bare, and a decorated plain class (mountExpressController) vs the same route with expressGuard.
 *
 *   npm run bench:decorators      # BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 20)
 *
 * Servers and autocannon share this process (numbers are for comparison within the run, not
 * absolute). Every guarded request carries a valid consent token and is allowed and audited (memory
 * sink, so the audit file's cost is not in the ratio; see guard-vs-bare.ts for that).
 */
import 'reflect-metadata';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import autocannon from 'autocannon';
import express, { type Request, type Response } from 'express';
import { expressGuard } from '../src/adapters/express/index.js';
import { createDecorators, mountExpressController, Route } from '../src/decorators/index.js';
import { PiplModule } from '../src/nestjs/index.js';
import { guardOptions, makeKeys, tokenFor } from '../test/support/fixture.js';

const duration = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const keys = await makeKeys();
const token = await tokenFor(keys);
const PATH = '/users/user-1/profile';
type Decorator = (
  target: object,
  key: string,
  descriptor: PropertyDescriptor,
) => PropertyDescriptor | undefined;

/** Applies legacy decorators the way TypeScript's `__decorate` does (no decorator syntax here). */
function decorate(proto: object, name: string, decorators: readonly unknown[]) {
  let descriptor = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
  for (const d of [...decorators].reverse())
    descriptor = (d as Decorator)(proto, name, descriptor) ?? descriptor;
  Object.defineProperty(proto, name, descriptor);
}

async function nest(guarded: boolean): Promise<RequestListener> {
  const setup = guardOptions(keys);
  const { RequiresConsent } = createDecorators(setup.guard);
  class Users {
    profile() {
      return { ok: true };
    }
  }
  const subject = (req: Request) => String(req.params.id);
  decorate(Users.prototype, 'profile', [
    Get(':id/profile'),
    ...(guarded ? [RequiresConsent('account.profile', { operation: 'use', subject })] : []),
  ]);
  Controller('users')(Users);
  class AppModule {}
  Module({ imports: guarded ? [PiplModule.forRoot({ pipl: setup.guard })] : [], controllers: [Users] })(
    AppModule,
  );
  const server = express();
  const app = await NestFactory.create(AppModule, new ExpressAdapter(server), { logger: false });
  await app.init();
  return server as unknown as RequestListener;
}

function expressGuarded(): RequestListener {
  const setup = guardOptions(keys);
  const app = express();
  const guard = expressGuard(setup.guard);
  app.get(
    '/users/:id/profile',
    guard('account.profile', { operation: 'use', subject: (req) => String(req.params.id) }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  return app as unknown as RequestListener;
}

function decoratedClass(): RequestListener {
  const setup = guardOptions(keys);
  const { RequiresConsent } = createDecorators(setup.guard);
  class Users {
    profile(_req: Request, res: Response) {
      res.json({ ok: true });
    }
  }
  decorate(Users.prototype, 'profile', [
    Route('get', '/users/:id/profile'),
    RequiresConsent('account.profile', {
      operation: 'use',
      subject: (req: Request) => String(req.params.id),
    }),
  ]);
  const app = express();
  const router = express.Router();
  mountExpressController(router, setup.guard, new Users());
  app.use(router);
  return app as unknown as RequestListener;
}

async function measure(name: string, listener: RequestListener): Promise<number> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
  const check = await fetch(url, { headers: { 'pipl-consent': token } });
  if (check.status !== 200) throw new Error(`${name}: expected 200 before measuring, got ${check.status}`);
  await autocannon({ url, connections, duration: 1, headers: { 'pipl-consent': token } }); // warm-up
  const result = await autocannon({ url, connections, duration, headers: { 'pipl-consent': token } });
  await new Promise((resolve) => server.close(resolve));
  const non2xx = result.non2xx + result.errors;
  console.log(
    `${name.padEnd(26)} ${result.requests.average.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms${non2xx ? `  (${non2xx} not 2xx!)` : ''}`,
  );
  return result.requests.average;
}

const nestBare = await measure('nest bare', await nest(false));
const nestGuarded = await measure('nest + PiplNestGuard', await nest(true));
const plain = await measure('express + expressGuard', expressGuarded());
const decorated = await measure('decorated class (express)', decoratedClass());
console.log(`\nratio nest guarded / bare:             ${(nestGuarded / nestBare).toFixed(2)}`);
console.log(`ratio decorated class / expressGuard:  ${(decorated / plain).toFixed(2)}`);

import 'reflect-metadata';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import express, { type Request, type Response } from 'express';
import Koa, { type Context } from 'koa';
import {
  Ctx,
  JsonController,
  Get as RcGet,
  Post as RcPost,
  Res,
  useExpressServer,
  useKoaServer,
} from 'routing-controllers';
import { createDecorators } from '../../src/decorators/index.js';
import type { PiplContext, PiplGuard } from '../../src/index.js';
import { PiplDecision, PiplModule } from '../../src/nestjs/index.js';
import { routingControllersDecorators } from '../../src/routing-controllers/index.js';
import type { TestPurpose } from './fixture.js';

/**
 * The conformance apps for the decorator integrations, built with decorators called as functions
 * (exactly what TypeScript's legacy `__decorate` does), so this file needs no decorator syntax.
 */
type Decorator = (
  target: object,
  key: string,
  descriptor: PropertyDescriptor,
) => PropertyDescriptor | undefined;
type ParamDecorator = (target: object, key: string, index: number) => void;

export interface DecoratedRoute {
  method: 'get' | 'post';
  path: string;
  purpose: TestPurpose;
  requirement: Record<string, unknown>;
  subject: boolean;
}

type Echo = (pipl: PiplContext | undefined) => unknown;

function decorateMethod(proto: object, name: string, decorators: readonly unknown[]): void {
  let descriptor = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
  for (const decorator of [...decorators].reverse()) {
    descriptor = (decorator as Decorator)(proto, name, descriptor) ?? descriptor;
  }
  Object.defineProperty(proto, name, descriptor);
}

/** A class with one method per route, each answering `echo(decision)`. */
function controllerClass(
  routes: readonly DecoratedRoute[],
  handler: (index: number) => (...args: never[]) => unknown,
) {
  class Routes {}
  routes.forEach((_route, index) => {
    Object.defineProperty(Routes.prototype, `route${index}`, {
      value: handler(index),
      writable: true,
      configurable: true,
    });
  });
  return Routes;
}

/** Answers once the async start-up (Nest's `init()`) is done. */
function deferred(start: Promise<RequestListener>): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    start.then(
      (listener) => listener(req, res),
      () => {
        res.statusCode = 500;
        res.end('start-up failed');
      },
    );
  };
}

export function buildNest(
  pipl: PiplGuard<TestPurpose, 'loyalty_points'>,
  routes: readonly DecoratedRoute[],
  echo: Echo,
  count: () => void,
): RequestListener {
  const { RequiresConsent } = createDecorators(pipl);
  const Routes = controllerClass(routes, () => (pipl: PiplContext) => {
    count();
    return echo(pipl);
  });
  routes.forEach((route, index) => {
    const name = `route${index}`;
    (PiplDecision() as ParamDecorator)(Routes.prototype, name, 0);
    decorateMethod(Routes.prototype, name, [
      (route.method === 'get' ? Get : Post)(route.path),
      // Nest answers a POST with 201 by default; the other targets answer 200.
      HttpCode(200),
      RequiresConsent(route.purpose, {
        ...(route.requirement as { operation: 'use' }),
        ...(route.subject ? { subject: (req: Request) => String(req.params.id) } : {}),
      }),
    ]);
  });
  Controller()(Routes);
  class AppModule {}
  Module({ imports: [PiplModule.forRoot({ pipl })], controllers: [Routes] })(AppModule);
  const server = express();
  const start = NestFactory.create(AppModule, new ExpressAdapter(server), { logger: false }).then(
    async (app) => {
      await app.init();
      return server as unknown as RequestListener;
    },
  );
  return deferred(start);
}

export function buildRoutingControllers(
  pipl: PiplGuard<TestPurpose, 'loyalty_points'>,
  routes: readonly DecoratedRoute[],
  echo: Echo,
  count: () => void,
  driver: 'express' | 'koa',
): RequestListener {
  const { RequiresConsent } = routingControllersDecorators(pipl, { driver });
  const Routes = controllerClass(routes, () => (first: Response | Context) => {
    count();
    return echo(driver === 'express' ? (first as Response).locals.pipl : (first as Context).state.pipl);
  });
  routes.forEach((route, index) => {
    const name = `route${index}`;
    ((driver === 'express' ? Res() : Ctx()) as ParamDecorator)(Routes.prototype, name, 0);
    const subject =
      driver === 'express'
        ? (req: Request) => String(req.params.id)
        : (ctx: Context) => String((ctx as Context & { params: { id: string } }).params.id);
    decorateMethod(Routes.prototype, name, [
      (route.method === 'get' ? RcGet : RcPost)(route.path),
      RequiresConsent(route.purpose, {
        ...(route.requirement as { operation: 'use' }),
        ...(route.subject ? { subject } : {}),
      }),
    ]);
  });
  JsonController()(Routes);
  if (driver === 'express') {
    const app = express();
    useExpressServer(app, { controllers: [Routes], development: false });
    return app as unknown as RequestListener;
  }
  const app = new Koa();
  app.silent = true;
  useKoaServer(app, { controllers: [Routes], development: false });
  return app.callback() as RequestListener;
}

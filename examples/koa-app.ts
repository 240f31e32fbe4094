import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import { koaGuard } from '../src/adapters/koa/index.js';
import { DELIVERY_PARTNER } from './policy.js';
import { createShopGuard, type ExampleAppOptions, isMain, runDevServer, views } from './shared.js';

/** The data subject is the user the path names; a token for anyone else is refused. */
const userId = (ctx: Context): string | undefined => ctx.params?.userId;

/** Builds the shop API on Koa 3. Returns the guard too, for withdrawal and closing the audit log. */
export function createApp(options: ExampleAppOptions) {
  const pipl = createShopGuard(options);
  const guard = koaGuard(pipl);
  const router = new Router();

  router.get(
    '/users/:userId/orders',
    guard('order.fulfilment', { operation: 'use', subject: userId }),
    (ctx) => {
      ctx.body = views.orders(String(ctx.params.userId), ctx.state.pipl);
    },
  );

  router.get(
    '/users/:userId/recommendations',
    guard('marketing.personalized', { operation: 'use', subject: userId }),
    (ctx) => {
      ctx.body = views.recommendations(String(ctx.params.userId), ctx.state.pipl);
    },
  );

  router.get(
    '/users/:userId/prescriptions',
    guard('health.prescriptions', { operation: 'use', subject: userId }),
    (ctx) => {
      ctx.body = views.prescriptions(String(ctx.params.userId), ctx.state.pipl);
    },
  );

  router.post(
    '/users/:userId/shipments',
    guard('delivery.partner', { operation: 'provide', recipient: DELIVERY_PARTNER, subject: userId }),
    (ctx) => {
      ctx.status = 201;
      ctx.body = views.shipment(String(ctx.params.userId), ctx.state.pipl);
    },
  );

  router.get(
    '/users/:userId/learning-profile',
    guard('kids.learning_profile', { operation: 'use', subject: userId }),
    (ctx) => {
      ctx.body = views.learningProfile(String(ctx.params.userId), ctx.state.pipl);
    },
  );

  const app = new Koa();
  app.use(router.routes()).use(router.allowedMethods());
  return { app, pipl };
}

if (isMain(import.meta.url)) {
  await runDevServer('koa', 3001, (options) => {
    const { app, pipl } = createApp(options);
    return { pipl, listener: app.callback() };
  });
}

import express, { type Request } from 'express';
import { expressGuard } from '../src/adapters/express/index.js';
import { DELIVERY_PARTNER } from './policy.js';
import { createShopGuard, type ExampleAppOptions, isMain, runDevServer, views } from './shared.js';

/** The data subject is the user the path names; a token for anyone else is refused. */
function userId(req: Request): string | undefined {
  const id = req.params.userId;
  return typeof id === 'string' ? id : undefined;
}

/** Builds the shop API on Express 5. Returns the guard too, for withdrawal and closing the audit log. */
export function createApp(options: ExampleAppOptions) {
  const pipl = createShopGuard(options);
  const guard = expressGuard(pipl);
  const app = express();

  app.get(
    '/users/:userId/orders',
    guard('order.fulfilment', { operation: 'use', subject: userId }),
    (req, res) => {
      res.json(views.orders(String(req.params.userId), res.locals.pipl));
    },
  );

  app.get(
    '/users/:userId/recommendations',
    guard('marketing.personalized', { operation: 'use', subject: userId }),
    (req, res) => {
      res.json(views.recommendations(String(req.params.userId), res.locals.pipl));
    },
  );

  app.get(
    '/users/:userId/prescriptions',
    guard('health.prescriptions', { operation: 'use', subject: userId }),
    (req, res) => {
      res.json(views.prescriptions(String(req.params.userId), res.locals.pipl));
    },
  );

  app.post(
    '/users/:userId/shipments',
    guard('delivery.partner', { operation: 'provide', recipient: DELIVERY_PARTNER, subject: userId }),
    (req, res) => {
      res.status(201).json(views.shipment(String(req.params.userId), res.locals.pipl));
    },
  );

  app.get(
    '/users/:userId/learning-profile',
    guard('kids.learning_profile', { operation: 'use', subject: userId }),
    (req, res) => {
      res.json(views.learningProfile(String(req.params.userId), res.locals.pipl));
    },
  );

  return { app, pipl };
}

if (isMain(import.meta.url)) {
  await runDevServer('express', 3000, (options) => {
    const { app, pipl } = createApp(options);
    return { pipl, listener: app };
  });
}

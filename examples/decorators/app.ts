// README "Decorators and frameworks": a plain class with standard (TC39) decorators on Express.
import express, { type Request, type Response } from 'express';
import type { PiplGuard } from 'pipl-guard';
import { createDecorators, mountExpressController, Route } from 'pipl-guard/decorators';

export function createApp(pipl: PiplGuard<'health.records'>) {
  const { RequiresConsent, PiplController } = createDecorators(pipl);

  @PiplController({ subject: (req: Request) => req.params.id })
  class RecordsController {
    @Route('get', '/users/:id/records')
    @RequiresConsent('health.records', { operation: 'use' })
    records(req: Request, res: Response) {
      res.json({ user: req.params.id, reason: res.locals.pipl?.decision.reason });
    }
  }

  const app = express();
  const router = express.Router();
  mountExpressController(router, pipl, new RecordsController());
  app.use(router);
  return app;
}

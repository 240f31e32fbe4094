// README "Decorators and frameworks": routing-controllers 0.11 on Express 5 (legacy decorators).
import 'reflect-metadata';
import express, { type Request, type Response } from 'express';
import type { PiplGuard } from 'pipl-guard';
import { piplProblemHandler } from 'pipl-guard/express';
import { routingControllersDecorators } from 'pipl-guard/routing-controllers';
import { Get, JsonController, Param, Res, useExpressServer } from 'routing-controllers';

export function createApp(pipl: PiplGuard<'health.records'>) {
  const { RequiresConsent } = routingControllersDecorators(pipl, { driver: 'express' });

  @JsonController('/users')
  class RecordsController {
    @Get('/:id/records')
    @RequiresConsent('health.records', { operation: 'use', subject: (req: Request) => req.params.id })
    records(@Param('id') id: string, @Res() res: Response) {
      return { user: id, reason: res.locals.pipl?.decision.reason };
    }
  }

  const app = express();
  // defaultErrorHandler: false, so a method reached without its guard answers 503 problem+json.
  useExpressServer(app, { controllers: [RecordsController], defaultErrorHandler: false, development: false });
  app.use(piplProblemHandler());
  return app;
}

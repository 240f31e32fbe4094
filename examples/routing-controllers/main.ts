// npm run example:routing-controllers — three requests through routing-controllers on Express 5.
import { createServer } from 'node:http';
import { decisionRoutes, drive, exampleGuard } from '../integrations-support.js';
import { createApp } from './app.js';

const { pipl, audit, token } = await exampleGuard();
await drive('routing-controllers', createServer(createApp(pipl)), token, () => decisionRoutes(audit.records));
await pipl.close();

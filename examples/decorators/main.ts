// npm run example:decorators — runs the README example against three requests.
import { createServer } from 'node:http';
import { decisionRoutes, drive, exampleGuard } from '../integrations-support.js';
import { createApp } from './app.js';

const { pipl, audit, token } = await exampleGuard();
await drive('decorators', createServer(createApp(pipl)), token, () => decisionRoutes(audit.records));
await pipl.close();

// npm run example:egg — a single-process Egg 4 application, three requests.
import { createServer, type RequestListener } from 'node:http';
import { fileURLToPath } from 'node:url';
import { start } from 'egg';
import { decisionRoutes, drive, exampleGuard } from '../integrations-support.js';
import { addRoutes } from './routes.js';

const { pipl, audit, token } = await exampleGuard();
const app = await start({ baseDir: fileURLToPath(new URL('.', import.meta.url)) });
addRoutes(app.router as never, pipl);
const listener = (app as unknown as { callback(): RequestListener }).callback();
await drive('egg', createServer(listener), token, () => decisionRoutes(audit.records));
await app.close();
await pipl.close();
// Egg's agent keeps timers alive after close(); the example is done.
process.exit(process.exitCode ?? 0);

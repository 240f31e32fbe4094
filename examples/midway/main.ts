// npm run example:midway — Midway 4 started with its test harness (@midwayjs/mock), three requests.
import { mkdtempSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { close, createApp } from '@midwayjs/mock';
import { decisionRoutes, drive } from '../integrations-support.js';
import { example, MainConfiguration } from './app.js';

const dir = mkdtempSync(join(tmpdir(), 'pipl-midway-example-')); // Midway's own logs go here
const app = await createApp({ imports: [MainConfiguration], baseDir: dir, appDir: dir } as never);
const listener = (app as unknown as { callback(): RequestListener }).callback();
await drive('midway', createServer(listener), example.token, () => decisionRoutes(example.audit.records));
await close(app);
await example.pipl.close();

// npm run example:nestjs — a real Nest application, three requests.
import { createServer } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import express from 'express';
import { decisionRoutes, drive } from '../integrations-support.js';
import { appModule, example } from './app.js';

const server = express();
const app = await NestFactory.create(appModule(example.pipl), new ExpressAdapter(server), { logger: false });
await app.init();
await drive('nestjs', createServer(server), example.token, () => decisionRoutes(example.audit.records));
await app.close();
await example.pipl.close();

/**
 * Describes the shop API's guarded routes in an OpenAPI 3.1 document: the consent header as an
 * `apiKey` security scheme, the problem+json refusals each route can answer with, and `x-pipl` per
 * operation. The routes are found in the Express app itself, so the document follows the code.
 *
 *   npx tsx examples/openapi.ts                 # prints the merged document
 *   npx tsx examples/openapi.ts openapi.json    # writes it to a file
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from 'jose';
import { expressRoutes, type OpenApiDocument, withPiplOpenApi } from '../src/openapi/index.js';
import { createApp } from './express-app.js';

// The document the team already maintains: withPiplOpenApi adds to it and keeps what is there.
const existing: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Shop API', version: '2026.12.0' },
  servers: [{ url: 'https://api.shop.example.cn' }],
  paths: {
    '/users/{userId}/orders': {
      get: {
        summary: "A user's orders",
        operationId: 'listOrders',
        responses: { '200': { description: 'The orders' } },
      },
    },
  },
};

const { publicKey } = await generateKeyPair('ES256');
const auditPath = join(tmpdir(), `pipl-openapi-example-${process.pid}.jsonl`);
const { app, pipl } = createApp({ publicKey, auditPath, auditKey: randomBytes(32).toString('hex') });

const document = withPiplOpenApi(existing, { routes: expressRoutes(app) });

await pipl.close(); // releases the writer lock
await rm(auditPath, { force: true });

const json = `${JSON.stringify(document, null, 2)}\n`;
const output = process.argv[2];
if (output) {
  writeFileSync(output, json);
  console.log(`wrote ${output}`);
} else process.stdout.write(json);

/**
 * A second API instance in its own process, for the propagation test (test/subject/redis.test.ts).
 *
 * Usage: node --import tsx test/subject/instance-server.ts <redis-url> <key-prefix> <public JWK as JSON>
 * Prints `PORT <n>` once listening on 127.0.0.1. Routes: the shop routes of ./setup.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { JWK } from 'jose';
import { redisSubjectStore } from '../../src/redis/index.js';
import { shopApps, subjectGuard } from './setup.js';

const [url, prefix, jwkJson] = process.argv.slice(2);
if (!url || !prefix || !jwkJson) {
  console.error('usage: instance-server.ts <redis-url> <prefix> <public-jwk-json>');
  process.exit(2);
}
const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
client.on('error', () => {});
await client.connect();
const publicJwk = JSON.parse(jwkJson) as JWK;
const { pipl } = subjectGuard({ publicJwk } as never, {
  subjects: redisSubjectStore({ client, prefix }),
});
const server = createServer(shopApps(pipl).express);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  client.disconnect();
  void pipl.close().then(() => process.exit(0));
});

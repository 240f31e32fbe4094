/**
 * The late-answer apps of test/support/late-answer.ts as a real server process, for the
 * unhandled-rejection test (test/conformance/late-answer.test.ts). Run it with
 * `node --unhandled-rejections=strict --import tsx test/support/late-answer-server.ts <mode> <jwk>`:
 * any rejection left unhandled then kills the process, as it does in production by default.
 * Prints `PORTS <express> <koa>` once both listen on ephemeral 127.0.0.1 ports.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { buildLateApps, type LateMode } from './late-answer.js';

const [mode, jwkJson] = process.argv.slice(2);
if ((mode !== 'respond' && mode !== 'errors') || !jwkJson) {
  console.error('usage: late-answer-server.ts <respond|errors> <public-jwk-json>');
  process.exit(2);
}
const publicJwk = JSON.parse(jwkJson) as JWK;
// Only the public key is used by the apps: the private half stays in the test process.
const apps = buildLateApps({ publicJwk } as never, mode as LateMode);

function listen(listener: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(listener);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

const [expressPort, koaPort] = await Promise.all([listen(apps.express), listen(apps.koa)]);
process.stdout.write(`PORTS ${expressPort} ${koaPort}\n`);

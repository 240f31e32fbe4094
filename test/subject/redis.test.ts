import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRevocationStore, redisSubjectStore } from '../../src/redis/index.js';
import { type Keys, makeKeys } from '../support/fixture.js';
import { probe } from '../support/processes.js';
import { consentToken, privacyApps, shopApps, subjectGuard } from './setup.js';

// Real Redis: REDIS_URL, else 127.0.0.1:6379 if it answers. Outages use a redis-server of our own.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const available = process.env.REDIS_URL !== undefined || (await probe('127.0.0.1', 6379, 500));
if (!available) {
  console.warn(
    'test/subject/redis.test.ts skipped: no Redis. Run with REDIS_URL=redis://127.0.0.1:6379 npm test',
  );
}
const PREFIX = `pipl:test:subject:${randomBytes(4).toString('hex')}:`;
const clients: Redis[] = [];
const children: ChildProcess[] = [];

async function connect(url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  if (available) {
    const cleaner = await connect();
    const found = await cleaner.keys(`${PREFIX}*`);
    if (found.length > 0) await cleaner.del(...found);
  }
  for (const client of clients) client.disconnect();
});

describe.skipIf(!available)('redisSubjectStore (real Redis)', () => {
  it('an opt-out and a withdrawal made on one instance apply on the next request of another', async () => {
    const a = subjectGuard(keys, {
      subjects: redisSubjectStore({ client: await connect(), prefix: PREFIX }),
    });
    const b = subjectGuard(keys, {
      subjects: redisSubjectStore({ client: await connect(), prefix: PREFIX }),
    });
    const appB = shopApps(b.pipl).express;
    const token = await consentToken(keys, {
      subject: 'r1',
      consentId: 'c-r1',
      now: Math.floor(Date.now() / 1000) - 10,
    });
    expect((await request(appB).get('/users/r1/ranking')).status).toBe(200);
    await a.pipl.subjects?.setOptOut('r1', 'personalization', true);
    expect((await request(appB).get('/users/r1/ranking')).body.code).toBe('personalization_opted_out');
    await a.pipl.subjects?.setOptOut('r1', 'personalization', false);
    expect((await request(appB).get('/users/r1/ranking')).status).toBe(200);
    await a.pipl.subjects?.withdrawPurpose('r1', 'account.profile', Math.floor(Date.now() / 1000) - 5);
    expect((await request(appB).get('/users/r1/profile').set('pipl-consent', token)).body.code).toBe(
      'consent_withdrawn',
    );
    expect(await b.pipl.subjects?.list('r1')).toMatchObject({
      purposes: [{ purpose: 'account.profile' }],
      optedOut: { personalization: false, marketing: false },
    });
  });

  it('keeps withdrawn consent ids where redisRevocationStore reads them', async () => {
    const client = await connect();
    const subjects = redisSubjectStore({ client, prefix: PREFIX });
    await subjects.withdrawConsent({ consentId: 'c-shared', at: 1, subject: 'r2' });
    const legacy = redisRevocationStore({ client, prefix: `${PREFIX}withdrawn:` });
    expect(await legacy.isRevoked('c-shared')).toBe(true);
    expect(await legacy.isRevoked('c-other')).toBe(false);
  });

  it('asks Redis one command per request (one MGET), whatever the checks', async () => {
    const client = await connect();
    const pipl = subjectGuard(keys, { subjects: redisSubjectStore({ client, prefix: PREFIX }) }).pipl;
    const app = shopApps(pipl).express;
    const token = await consentToken(keys, { subject: 'r3' });
    await request(app).get('/users/r3/profile').set('pipl-consent', token); // warm-up
    const sent: string[] = [];
    const original = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }) => {
      sent.push(command.name);
      return original(command as never);
    }) as typeof client.sendCommand;
    expect((await request(app).get('/users/r3/profile').set('pipl-consent', token)).status).toBe(200);
    expect((await request(app).get('/users/r3/ranking')).status).toBe(200);
    expect(sent).toEqual(['mget', 'mget']);
  });

  it('a withdrawal or opt-out on one process reaches another process within 1 s: 100 changes', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/subject/instance-server.ts',
        REDIS_URL,
        PREFIX,
        JSON.stringify(keys.publicJwk),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        const match = /PORT (\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`instance exited ${code}`)));
    });
    const other = `http://127.0.0.1:${port}`;
    const here = redisSubjectStore({ client: await connect(), prefix: PREFIX });
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const optOut = i % 2 === 0;
      const started = performance.now();
      await here.setOptOut('p1', 'personalization', optOut);
      // Poll the other process until it answers according to the change (cap: 1 s).
      for (;;) {
        const answer = await fetch(`${other}/users/p1/ranking`);
        await answer.arrayBuffer();
        if ((answer.status === 403) === optOut) break;
        if (performance.now() - started > 1000) throw new Error(`change ${i} not seen within 1 s`);
      }
      delays.push(performance.now() - started);
    }
    delays.sort((x, y) => x - y);
    const median = ((delays[49] as number) + (delays[50] as number)) / 2;
    const max = delays[99] as number;
    console.log(
      `propagation over 100 changes across two processes: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
    );
    expect(max).toBeLessThan(1000);
  });

  describe('outage (a redis-server of our own, stopped mid-run)', () => {
    it('fails closed with 503 revocation_unavailable, and changes reject', async () => {
      const port = await freePort();
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      children.push(server);
      for (let i = 0; i < 50 && !(await probe('127.0.0.1', port, 100)); i++)
        await new Promise((r) => setTimeout(r, 50));
      const client = await connect(`redis://127.0.0.1:${port}`);
      const { pipl, errors, sink } = subjectGuard(keys, { subjects: redisSubjectStore({ client }) });
      const app = shopApps(pipl).express;
      const token = await consentToken(keys, { subject: 'o1' });
      expect((await request(app).get('/users/o1/profile').set('pipl-consent', token)).status).toBe(200);
      server.kill('SIGKILL');
      await new Promise((resolve) => server.once('exit', resolve));
      for (const path of ['/users/o1/profile', '/users/o1/ranking', '/users/o1/feed']) {
        const refused = await request(app).get(path).set('pipl-consent', token);
        expect(refused.status, path).toBe(503);
        expect(refused.body.code, path).toBe('revocation_unavailable');
      }
      await expect(pipl.subjects?.setOptOut('o1', 'marketing', true)).rejects.toThrow(/not ready|no answer/);
      expect(errors.length).toBe(3);
      // The subject endpoints answer 503 too, and the failed attempt is in the log.
      const endpoint = await request(privacyApps(pipl).express)
        .put('/privacy/subjects/o1/preferences')
        .set('x-user', 'o1')
        .send({ marketing: false });
      expect(endpoint.status).toBe(503);
      expect(endpoint.body.code).toBe('revocation_unavailable');
      expect(
        (sink.records as { type: string; result?: string }[]).filter((r) => r.type === 'preference_change'),
      ).toEqual([expect.objectContaining({ result: 'failed', reason: 'revocation_unavailable' })]);
    });
  });
});

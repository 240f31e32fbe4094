/**
 * Crash safety of the durable audit path, with a REAL process killed by SIGKILL under load.
 *
 * test/support/crash-server.ts runs an Express app (child process, `node --import tsx`) whose only
 * route is guarded by a sensitive purpose (medical_health, separate consent, durability `durable`)
 * with a fileAuditSink. The test keeps 50 requests in flight (each with a unique `x-request-id`),
 * records every request id answered 2xx, and SIGKILLs the child after a given number of 2xx answers.
 * Then it reopens the log with fileAuditSink (torn-tail repair, `writer_start` with
 * cleanShutdown=false), closes it, and checks with verifyAuditTrail that the trail is valid, carries
 * an "unclean restart" notice, and holds an `allow` decision record for EVERY id answered 2xx:
 * a 2xx is only sent after the record's fdatasync, so no acknowledged access may be missing.
 *
 * SIGKILL keeps the page cache, so this checks process-crash safety (no acknowledged record only in
 * user-space buffers), not power-loss safety.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditRecord, DecisionEvent, WriterStartEvent } from '../../src/audit/record.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { type Keys, makeKeys, tokenFor } from '../support/fixture.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = join(ROOT, 'test/support/crash-server.ts');

const IN_FLIGHT = 50;
const TOTAL = 400;

let keys: Keys;
let token: string;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  keys = await makeKeys();
  token = await tokenFor(keys, {
    subject: 'patient-1',
    grants: [
      { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'separate' },
    ],
  });
  dir = fs.mkdtempSync(join(tmpdir(), 'pipl-crash-'));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Starts the crash server and waits (bounded) for its port. */
function startServer(path: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, path, JSON.stringify(keys.publicJwk)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`crash server did not start in 10 s:\n${stderr}`)),
      10_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /PORT (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), exited, stderr: () => stderr });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`crash server exited early (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
}

/** One GET; resolves with the status, or undefined when the connection failed (server killed). */
function get(agent: http.Agent, port: number, requestId: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/users/patient-1/health',
        headers: { 'pipl-consent': token, 'x-request-id': requestId },
      },
      (res) => {
        res.resume();
        // The status line arrived: the server acknowledged this request, whatever happens to the body.
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve(res.statusCode));
        res.on('aborted', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * Keeps IN_FLIGHT requests going until TOTAL were sent or the server is gone; kills the server with
 * SIGKILL once `killAfter` requests were answered 2xx.
 */
async function loadAndKill(server: Server, runId: string, killAfter: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const acknowledged: string[] = [];
  const statuses = new Map<number, number>();
  let failed = 0;
  let next = 0;
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    server.child.kill('SIGKILL');
  };
  async function worker() {
    while (next < TOTAL && !killed) {
      const requestId = `${runId}-${String(next++).padStart(4, '0')}`;
      const status = await get(agent, server.port, requestId);
      if (status === undefined) {
        failed++;
        continue;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) {
        acknowledged.push(requestId);
        if (acknowledged.length >= killAfter) kill();
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  kill(); // if the load finished before the kill point, still crash
  const exit = await server.exited;
  agent.destroy();
  return { acknowledged, statuses, failed, sent: next, exit };
}

function readRecords(path: string): AuditRecord[] {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe('durable audit records survive SIGKILL under load', () => {
  // Three different kill moments: early (first group commits), middle, late in the load.
  const runs = [
    { name: 'early', killAfter: 5, tornTail: false },
    { name: 'middle', killAfter: 120, tornTail: false },
    // On top of the real crash, leave half a record at the end, as a write cut short by a crash would.
    { name: 'late, plus a torn final line', killAfter: 300, tornTail: true },
  ];

  it.each(runs)(
    'kill $name: every 2xx has its allow decision in a valid, repaired trail',
    async ({ name, killAfter, tornTail }) => {
      const path = join(dir, `${name.split(',')[0]}.jsonl`);
      const runId = `crash-${name.split(',')[0]}`;
      const server = await startServer(path);
      const result = await loadAndKill(server, runId, killAfter);

      expect(result.exit.signal, server.stderr()).toBe('SIGKILL');
      // Only 200s (allowed) or connection failures caused by the kill: nothing else went wrong.
      expect([...result.statuses.keys()]).toEqual([200]);
      expect(result.acknowledged.length).toBeGreaterThanOrEqual(Math.min(killAfter, TOTAL));

      // The kill itself may have left a torn final line; note it before adding our own.
      const crashTorn = fs.readFileSync(path).at(-1) !== 0x0a;
      let tornBytes = 0;
      if (tornTail) {
        const last = fs.readFileSync(path, 'utf8').split('\n').filter(Boolean).at(-1) as string;
        const half = last.slice(0, Math.floor(last.length / 2));
        tornBytes = Buffer.byteLength(half);
        fs.appendFileSync(path, half);
      }
      const sizeBefore = fs.statSync(path).size;
      const endsTorn = crashTorn || tornTail;

      // Reopen: repairs a torn tail and notes the unclean shutdown.
      const sink = fileAuditSink({ path });
      await sink.close();

      const records = readRecords(path);
      const starts = records.filter((r): r is AuditRecord & WriterStartEvent => r.type === 'writer_start');
      expect(starts).toHaveLength(2);
      const restart = starts[1] as AuditRecord & WriterStartEvent;
      expect(restart.cleanShutdown).toBe(false);
      if (tornTail && !crashTorn) expect(restart.repairedBytes).toBe(tornBytes);
      if (endsTorn) expect(restart.repairedBytes).toBeGreaterThan(0);
      else expect(restart.repairedBytes).toBeUndefined();
      expect(records.at(-1)?.type).toBe('writer_stop');
      expect(fs.statSync(path).size).toBeGreaterThan(sizeBefore - (restart.repairedBytes ?? 0));
      expect(fs.readFileSync(path).at(-1)).toBe(0x0a);

      const report = await verifyAuditTrail(path);
      expect(report.problems).toEqual([]);
      expect(report.valid).toBe(true);
      expect(report.firstSeq).toBe(0);
      expect(report.lastSeq).toBe(records.length - 1);
      expect(report.notices.some((notice) => notice.includes('unclean restart'))).toBe(true);
      if (endsTorn) expect(report.notices.join('\n')).toMatch(/torn bytes removed/);

      // Every acknowledged request has exactly one allow decision.
      const decisions = new Map<string, DecisionEvent[]>();
      for (const record of records) {
        if (record.type !== 'decision') continue;
        // Requests are matched by the client's x-request-id, which the record keeps as clientRequestId.
        const id = record.clientRequestId ?? '';
        decisions.set(id, [...(decisions.get(id) ?? []), record]);
      }
      const missing = result.acknowledged.filter((id) => !decisions.has(id));
      expect(
        missing,
        `acknowledged 2xx without a decision record (${result.acknowledged.length} acked)`,
      ).toEqual([]);
      for (const id of result.acknowledged) {
        const found = decisions.get(id) ?? [];
        expect(found).toHaveLength(1);
        expect(found[0]).toMatchObject({
          decision: 'allow',
          reason: 'consent_valid',
          purpose: 'health.records',
          categories: ['medical_health'],
          route: '/users/:id/health',
        });
      }
      // The log never invents requests that were not sent.
      for (const id of decisions.keys()) expect(Number(id.split('-').at(-1))).toBeLessThan(result.sent);
    },
    15_000,
  );
});

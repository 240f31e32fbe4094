/**
 * Disk full and failing audit sinks, for real (no mocked fs).
 *
 * How the failures are produced here (checked on this machine: uid 0, util-linux prlimit present):
 *
 * 1. ENOSPC on a real 64 KiB tmpfs. Mounting needs root (CAP_SYS_ADMIN): at load time the file
 *    probes `mount -t tmpfs -o size=64k` in a mkdtemp dir. Each test mounts a fresh tmpfs, opens the
 *    sink there, then fills the rest of the filesystem with a filler file (4 KiB writes until
 *    ENOSPC). The log's last page still has slack, so a few records go through before a write fails
 *    (often part-way through a record: a short write, then ENOSPC) — exactly as on a real full disk.
 *    Deleting the filler frees space. Unmounted in afterEach (lazy unmount in afterAll as a net).
 *    Without root these tests are skipped, with the reason printed.
 * 2. EFBIG from RLIMIT_FSIZE, which works without root: the Express server of
 *    test/support/crash-server.ts runs as a child (`bash -c "trap '' XFSZ; exec node --import tsx …"`,
 *    and Node ignores SIGXFSZ anyway, so the write fails with EFBIG instead of killing the process).
 *    Once it is up, `prlimit --pid <pid> --fsize=<current size + 1500>:` lowers the soft limit (only
 *    the soft one, so an unprivileged user can raise it again); `--fsize=unlimited:` is "freeing space".
 * 3. /dev/full: opening a sink on it fails at start-up (the writer_start write gets ENOSPC), so an
 *    app cannot start unaudited. It cannot fail a sink at run time, hence 1 and 2.
 *
 * The sink retries failed writes with setTimeout(retryMs). The in-process tests fake only
 * setTimeout/clearTimeout (vi.useFakeTimers) so no retry happens by chance while the disk is full;
 * `vi.advanceTimersByTime(RETRY_MS)` then fires exactly one retry after space was freed.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { expressGuard } from '../../src/adapters/express/index.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditRecord, DecisionEvent, DroppedEvent } from '../../src/audit/record.js';
import type { AuditSink } from '../../src/audit/sink.js';
import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { PiplConfigError } from '../../src/errors/errors.js';
import { createPiplGuard, definePolicy } from '../../src/index.js';
import { expectProblem, send } from '../support/assertions.js';
import { AUDIENCE, AUDIT_KEY, ISSUER, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RETRY_MS = 1000;
const HEALTH = '/users/patient-1/health';

const policy = definePolicy({
  notice: { id: 'test-notice', version: 2 },
  purposes: {
    // Sensitive PI: durable, fail closed (fail_open is not even allowed here).
    'health.records': {
      basis: 'consent',
      categories: ['medical_health'],
      operations: ['use'],
      necessaryForService: true,
      piaRef: 'PIA-FAIL-1',
      audit: { durability: 'durable' },
    },
    // Ordinary PI, buffered, fail closed (the default).
    'order.fulfilment': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
      audit: { durability: 'buffered' },
    },
    // Opted in to fail open: decisions go through unrecorded and are counted in a `dropped` marker.
    'usage.metrics': {
      basis: 'contract',
      categories: ['contact'],
      operations: ['use'],
      necessaryForService: true,
      audit: { durability: 'buffered', onFailure: 'fail_open' },
    },
  },
});

/** Can this process mount a tmpfs? Probed once, synchronously, so describe.skipIf can use it. */
function probeTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return `uid ${process.getuid?.()} is not root: cannot mount a tmpfs`;
  const probe = fs.mkdtempSync(join(tmpdir(), 'pipl-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}
const tmpfsUnavailable = probeTmpfs();
if (tmpfsUnavailable) console.warn(`[failure.test] tmpfs ENOSPC tests skipped: ${tmpfsUnavailable}`);

const prlimitUnavailable = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'prlimit (util-linux) is not installed';
  }
})();
if (prlimitUnavailable)
  console.warn(`[failure.test] EFBIG child-process test skipped: ${prlimitUnavailable}`);

let keys: Keys;
let token: string;
beforeAll(async () => {
  keys = await makeKeys();
  token = await tokenFor(keys, {
    subject: 'patient-1',
    grants: [
      { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'separate' },
    ],
  });
});

function readRecords(path: string): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const line of fs.readFileSync(path, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      records.push(JSON.parse(line) as AuditRecord);
    } catch {
      // a damaged line: verifyAuditTrail reports it
    }
  }
  return records;
}

/** Decisions by the client's x-request-id (the record's clientRequestId; requestId is the guard's own). */
function decisionsById(records: AuditRecord[]): Map<string, DecisionEvent> {
  const map = new Map<string, DecisionEvent>();
  for (const record of records) {
    if (record.type === 'decision' && record.clientRequestId) map.set(record.clientRequestId, record);
  }
  return map;
}

describe.skipIf(tmpfsUnavailable !== undefined)('disk full: ENOSPC on a real 64 KiB tmpfs', () => {
  const mounts: string[] = [];
  let mountDir: string;
  let sink: AuditSink | undefined;
  let fillerPath: string;

  beforeEach(() => {
    mountDir = fs.mkdtempSync(join(tmpdir(), 'pipl-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountDir]);
    mounts.push(mountDir);
    fillerPath = join(mountDir, 'filler');
    // Only the sink's retry timer is faked; setImmediate, I/O and HTTP run for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  afterEach(async () => {
    vi.useRealTimers();
    fs.rmSync(fillerPath, { force: true });
    await sink?.close().catch(() => {});
    sink = undefined;
    for (const dir of mounts.splice(0)) {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  afterAll(() => {
    for (const dir of mounts.splice(0)) {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        // already unmounted
      }
    }
  });

  /** Fills the tmpfs with 4 KiB writes until ENOSPC. */
  function fillDisk() {
    const fd = fs.openSync(fillerPath, 'w');
    try {
      const page = Buffer.alloc(4096, 0x2e);
      for (let i = 0; i < 64; i++) fs.writeSync(fd, page);
      throw new Error('the 64 KiB tmpfs never filled up');
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
  }

  function freeDisk() {
    fs.rmSync(fillerPath);
  }

  /** Fires the sink's retry timer once and waits (real time, bounded) until the retry's write ended. */
  async function retryNow(current: AuditSink) {
    vi.advanceTimersByTime(RETRY_MS);
    await vi.waitFor(() => expect(current.healthy).toBe(true), { timeout: 3000, interval: 5 });
    await current.flush();
  }

  function buildApp(options: { outcomes?: boolean } = {}) {
    const path = join(mountDir, 'audit.jsonl');
    sink = fileAuditSink({ path, retryMs: RETRY_MS });
    const pipl = createPiplGuard({
      policy,
      consent: {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['ES256'],
        jwks: { keys: [keys.publicJwk] },
      },
      audit: { sink, subjectKey: AUDIT_KEY, outcomes: options.outcomes ?? true },
    });
    const guard = expressGuard(pipl);
    const calls = { health: 0, orders: 0, metrics: 0 };
    const app = express();
    app.get(
      '/users/:id/health',
      guard('health.records', { operation: 'use', subject: (req) => String(req.params.id) }),
      (_req, res) => {
        calls.health++;
        res.json({ ok: true });
      },
    );
    app.get('/orders/:id', guard('order.fulfilment', { operation: 'use' }), (_req, res) => {
      calls.orders++;
      res.json({ ok: true });
    });
    app.get('/metrics/:id', guard('usage.metrics', { operation: 'use' }), (_req, res) => {
      calls.metrics++;
      res.json({ ok: true });
    });
    return { app, path, sink, calls };
  }

  /** Sends durable requests one by one until the sink fails; returns the ids answered 200 and the 503. */
  async function requestUntilRefused(app: express.Express, prefix: string) {
    const acknowledged: string[] = [];
    for (let i = 0; i < 200; i++) {
      const id = `${prefix}-${i}`;
      const res = await send(app, { path: HEALTH, token, headers: { 'x-request-id': id } });
      if (res.status === 200) {
        acknowledged.push(id);
        continue;
      }
      return { acknowledged, refused: res, refusedId: id };
    }
    throw new Error('the log never hit ENOSPC');
  }

  it('(a) ENOSPC: sink unhealthy, 503 audit_unavailable with Retry-After, handler not run', async () => {
    const { app, sink, calls } = buildApp();
    await sink.flush(); // the guard's start-up `policy` record goes to disk before it fills
    fillDisk();
    const { acknowledged, refused, refusedId } = await requestUntilRefused(app, 'full');

    expectProblem(refused, 'audit_unavailable');
    expect(refused.headers['retry-after']).toBe('5');
    // The problem body names the guard's own request id, never the client's.
    expect(refused.body.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(refused.body.requestId).not.toBe(refusedId);
    expect(sink.healthy).toBe(false);
    expect(calls.health).toBe(acknowledged.length);

    // While the disk stays full, every fail-closed purpose is refused and no handler runs,
    // sensitive (durable) and ordinary (buffered) alike.
    for (let i = 0; i < 3; i++) {
      expectProblem(await send(app, { path: HEALTH, token }), 'audit_unavailable');
      expectProblem(await send(app, { path: '/orders/o-1' }), 'audit_unavailable');
    }
    expect(calls.health).toBe(acknowledged.length);
    expect(calls.orders).toBe(0);
    expect(sink.healthy).toBe(false);
    // The sink reports why to its caller too.
    expect(() =>
      sink.append({ type: 'writer_stop', enforcer: { service: 's', instance: 'i', version: 'v' } }),
    ).toThrow(expect.objectContaining({ code: 'audit_unavailable', status: 503 }));
  });

  it('(c) recovery: after space is freed the sink retries, becomes healthy, and the chain has no gaps', async () => {
    const { app, path, sink, calls } = buildApp();
    await sink.flush(); // the guard's start-up `policy` record goes to disk before it fills
    fillDisk();
    const { acknowledged, refusedId } = await requestUntilRefused(app, 'rec');
    expect(sink.healthy).toBe(false);

    freeDisk();
    await retryNow(sink);

    // Healthy again: requests are allowed and recorded.
    const after: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `after-${i}`;
      const res = await send(app, { path: HEALTH, token, headers: { 'x-request-id': id } });
      expect(res.status).toBe(200);
      after.push(id);
    }
    expect(calls.health).toBe(acknowledged.length + after.length);
    await sink.close();

    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    const records = readRecords(path);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
    const decisions = decisionsById(records);
    for (const id of [...acknowledged, ...after]) expect(decisions.get(id)?.decision).toBe('allow');
    // Which record meets the full disk depends on record sizes: the refused request's own durable
    // `allow` (sealed before the write failed: it lands on retry, and an outcome record says the
    // request was in fact answered 503), or the previous request's buffered outcome (then the sink
    // was unhealthy before the refused request, which was never sealed: no record, no hole).
    const sealed = decisions.get(refusedId);
    if (sealed) {
      expect(sealed.decision).toBe('allow');
      const outcome = records.find((r) => r.type === 'outcome' && r.requestId === sealed.requestId);
      expect(outcome).toMatchObject({ type: 'outcome', status: 503 });
    } else {
      const last = decisions.get(acknowledged.at(-1) as string);
      expect(records.some((r) => r.type === 'outcome' && r.requestId === last?.requestId)).toBe(true);
    }
  });

  it('(c) stays unhealthy, refusing requests, while a retry fails again on a still-full disk', async () => {
    const { app, sink, calls } = buildApp();
    await sink.flush(); // the guard's start-up `policy` record goes to disk before it fills
    fillDisk();
    const { acknowledged } = await requestUntilRefused(app, 'still');
    vi.advanceTimersByTime(RETRY_MS); // the retry writes to a disk that is still full
    for (let turn = 0; turn < 20; turn++) {
      expect(sink.healthy).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expectProblem(await send(app, { path: HEALTH, token }), 'audit_unavailable');
    expect(calls.health).toBe(acknowledged.length);
    freeDisk();
    await retryNow(sink);
    expect((await send(app, { path: HEALTH, token })).status).toBe(200);
    await sink.close();
  });

  it('(c) recovery keeps records sealed while the failing write was in flight (no gap, no torn line)', async () => {
    // Driven on the sink directly, so the timing is exact: batch 1 is being written (and fails with
    // ENOSPC) while batch 2 is sealed and queued behind it.
    const path = join(mountDir, 'audit.jsonl');
    const current = fileAuditSink({ path, retryMs: RETRY_MS });
    sink = current;
    fillDisk();
    const event = (i: number) => ({
      type: 'outcome' as const,
      requestId: `burst-${i}`,
      purpose: 'health.records',
      status: 200,
      durationMs: 1,
    });
    // Batch 1 (~10 KiB) is bigger than the slack left in the log's last 4 KiB page: its write is
    // short, then ENOSPC. Batch 2 is sealed while that write is in flight.
    const settled: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++)
      settled.push(Promise.resolve(current.append(event(i), true)).catch((e) => e));
    await new Promise((resolve) => setImmediate(resolve)); // batch 1 taken, its write in flight
    for (let i = 40; i < 50; i++)
      settled.push(Promise.resolve(current.append(event(i), true)).catch((e) => e));
    const outcomes = await Promise.all(settled);
    expect(outcomes.every((o) => o instanceof Error)).toBe(true); // the disk really was full
    expect(current.healthy).toBe(false);

    freeDisk();
    await retryNow(current);
    await current.close();

    // Every record sealed before the failure was kept (a refused durable append is still sealed:
    // the chain never skips a seq) and written exactly once.
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    const ids = readRecords(path)
      .filter((r) => r.type === 'outcome')
      .map((r) => (r as { requestId: string }).requestId);
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `burst-${i}`));
  });

  it('(c) close() right after space was freed writes the failed batch before writer_stop', async () => {
    const { app, path, sink } = buildApp();
    await sink.flush(); // the guard's start-up `policy` record goes to disk before it fills
    fillDisk();
    const { acknowledged, refusedId } = await requestUntilRefused(app, 'close');
    freeDisk();
    await sink.close(); // no retry timer fired: close() retries itself

    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    const records = readRecords(path);
    expect(records.at(-1)?.type).toBe('writer_stop');
    const decisions = decisionsById(records);
    for (const id of acknowledged) expect(decisions.get(id)?.decision).toBe('allow');
    // A decision sealed before the write failed is kept, not skipped; whichever record met the full
    // disk (see the recovery test), the last acknowledged request's outcome is on disk too.
    const last = decisions.get(acknowledged.at(-1) as string);
    expect(records.some((r) => r.type === 'outcome' && r.requestId === last?.requestId)).toBe(true);
    if (decisions.has(refusedId)) expect(decisions.get(refusedId)?.decision).toBe('allow');
  });

  it('(b) fail-open purpose: succeeds while the log is failing; a dropped marker with the count follows recovery', async () => {
    const { app, path, sink, calls } = buildApp({ outcomes: false });
    await sink.flush(); // the guard's start-up `policy` record goes to disk before it fills
    fillDisk();
    await requestUntilRefused(app, 'open');
    expect(sink.healthy).toBe(false);

    const DROPPED = 4;
    for (let i = 0; i < DROPPED; i++) {
      const res = await send(app, { path: `/metrics/m-${i}`, headers: { 'x-request-id': `metrics-${i}` } });
      expect(res.status).toBe(200);
      // The fail-closed sensitive purpose is refused at the same moment.
      expectProblem(await send(app, { path: HEALTH, token }), 'audit_unavailable');
    }
    expect(calls.metrics).toBe(DROPPED);

    freeDisk();
    await retryNow(sink);
    // After recovery the fail-open purpose is recorded normally again.
    expect(
      (await send(app, { path: '/metrics/m-9', headers: { 'x-request-id': 'metrics-after' } })).status,
    ).toBe(200);
    await sink.close();

    const records = readRecords(path);
    const dropped = records.filter((r): r is AuditRecord & DroppedEvent => r.type === 'dropped');
    expect(dropped, 'dropped markers that parse (a lost or torn-merged marker does not)').toHaveLength(1);
    expect(dropped[0]).toMatchObject({ count: DROPPED, cause: 'refused' });
    expect(Date.parse(dropped[0]?.from ?? '')).toBeLessThanOrEqual(Date.parse(dropped[0]?.to ?? ''));
    const decisions = decisionsById(records);
    for (let i = 0; i < DROPPED; i++) expect(decisions.has(`metrics-${i}`)).toBe(false);
    expect(decisions.get('metrics-after')?.decision).toBe('allow');

    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.notices.join('\n')).toMatch(
      new RegExp(`${DROPPED} decisions were not recorded between .* \\(refused\\)`),
    );
  });
});

describe.skipIf(prlimitUnavailable !== undefined)('file-size limit: EFBIG in a real server process', () => {
  const dirs: string[] = [];
  const pids: number[] = [];
  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  function get(port: number, id: string) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.get(
          { host: '127.0.0.1', port, path: HEALTH, headers: { 'pipl-consent': token, 'x-request-id': id } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.on('error', reject);
      },
    );
  }

  it('EFBIG: 503 audit_unavailable with Retry-After, handler not run; raising the limit recovers', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipl-efbig-'));
    dirs.push(dir);
    const path = join(dir, 'audit.jsonl');
    const child = spawn(
      'bash',
      [
        '-c',
        `trap '' XFSZ; exec "$0" --import tsx test/support/crash-server.ts "$1" "$2"`,
        process.execPath,
        path,
        JSON.stringify(keys.publicJwk),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pids.push(child.pid as number);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /PORT (\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });

    const acknowledged: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get(port, `before-${i}`);
      expect(res.status).toBe(200);
      acknowledged.push(`before-${i}`);
    }
    // Lower the soft RLIMIT_FSIZE to a little above the current size: the log hits it mid-record.
    const limit = fs.statSync(path).size + 1500;
    execFileSync('prlimit', ['--pid', String(child.pid), `--fsize=${limit}:`]);

    let refused: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await get(port, `limited-${i}`);
      if (res.status === 200) acknowledged.push(`limited-${i}`);
      else refused = res;
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers['retry-after']).toBe('5');
    expect(refused?.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(refused?.body ?? '{}');
    expect(problem).toMatchObject({ status: 503, code: 'audit_unavailable' });
    expect(problem.ok).toBeUndefined(); // the guard answered: the handler never ran
    expect(fs.statSync(path).size).toBe(limit); // written up to the limit: a short write, then EFBIG
    const again = await get(port, 'still-limited');
    expect(again.status).toBe(503);
    expect(child.exitCode).toBeNull(); // SIGXFSZ did not kill the server

    // "Free space": lift the limit. The sink retries every second (default retryMs).
    execFileSync('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:']);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // bounded wait for the child's retry
    let recovered = false;
    for (let i = 0; i < 40 && !recovered; i++) {
      const res = await get(port, `after-${i}`);
      if (res.status === 200) {
        recovered = true;
        acknowledged.push(`after-${i}`);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect(recovered).toBe(true);
    expect(fs.statSync(path).size).toBeGreaterThan(limit);

    child.kill('SIGKILL');
    await exited;
    const reopened = fileAuditSink({ path });
    await reopened.close();
    const report = await verifyAuditTrail(path);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    const decisions = decisionsById(readRecords(path));
    for (const id of acknowledged) expect(decisions.get(id)?.decision).toBe('allow');
  }, 20_000);
});

describe('/dev/full', () => {
  it('a sink on /dev/full fails at start-up (ENOSPC), so the app cannot start unaudited', () => {
    expect(fs.existsSync('/dev/full')).toBe(true);
    let caught: unknown;
    try {
      fileAuditSink({ path: '/dev/full' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PiplConfigError);
    expect((caught as Error).message).toMatch(/ENOSPC/);
  });
});

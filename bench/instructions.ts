/**
 * Instructions per guarded request, counted by valgrind's callgrind (`npm run bench:instructions`).
 *
 * The HTTP benchmark's CPU µs per request drift by up to 2× on this shared VM, which is more than
 * the differences it is asked to settle (a few µs). An instruction count barely drifts: the same
 * code on the same input executes the same instructions, whatever else the machine is doing; only
 * V8's compiling and garbage collection, which fire on heuristics, vary between runs, so they are
 * counted apart and the rest ("own") repeats to within about 2%.
 *
 * In-process: the framework-free guard (`pipl.check` + `recordOutcome`, what every adapter calls)
 * and a bare `jose.jwtVerify`, each counted under callgrind and timed natively (CPU µs, for scale).
 * Over HTTP: the `npm run bench` servers (`bench/server.ts`: Express and Koa, bare and guarded,
 * same routes, token and options), each under callgrind, loaded by autocannon.
 *
 *   npm run bench:instructions                    # needs valgrind (apt-get install valgrind)
 *   node --import tsx bench/instructions.ts --child native|callgrind   # one in-process run
 *
 * In-process, each variant runs WARM operations unmeasured, then OPS measured ones, and the audit
 * sink is flushed every 64 operations, so the file sink's batches hold 64 decisions and their 64
 * outcomes both natively and under valgrind (where the 4 ms coalescing delay would cut them short).
 * Counted: every thread of the process (so the libuv thread's file writes and V8's GC helpers),
 * user space only (not the kernel). Under valgrind the CPU reports no SHA extensions, so OpenSSL's
 * SHA-256 runs its AVX2 code: counts for hashing are higher than the native code executes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { importJWK, type JWK, jwtVerify } from 'jose';
import * as pipl from '../src/index.js';
import {
  AUDIENCE,
  AUDIT_KEY,
  benchConsent,
  benchCredentials,
  ISSUER,
  PROFILE_PATH,
  policy,
  SUBJECT,
} from './shared.js';

const WARM = Number(process.env.INSTR_BENCH_WARM ?? 10_000);
const OPS = Number(process.env.INSTR_BENCH_OPS ?? 2000);
/** Native rounds per variant (rotating order); the median is reported. */
const ROUNDS = Number(process.env.INSTR_BENCH_ROUNDS ?? 7);
const OUTPUT = process.env.INSTR_BENCH_OUTPUT ?? 'bench/results/instructions.json';
/** Keep callgrind's dumps (one per variant) here, for `callgrind_annotate`; by default they are deleted. */
const KEEP = process.env.INSTR_BENCH_KEEP;

/** Requests per HTTP server: unmeasured, then measured (10 connections, pipelining 1). */
const HTTP_WARM = Number(process.env.INSTR_BENCH_HTTP_WARM ?? 5000);
const HTTP_OPS = Number(process.env.INSTR_BENCH_HTTP_OPS ?? 2000);
/** The `npm run bench` servers counted over HTTP (`bench/server.ts`, same routes and options); `0` skips them. */
const HTTP_SCENARIOS = (process.env.INSTR_BENCH_HTTP ?? 'express-bare,express-guarded,koa-bare,koa-guarded')
  .split(',')
  .filter((name) => name !== '' && name !== '0');

const VARIANTS = {
  jose: 'bare jose.jwtVerify (ES256, iss, aud) of the token',
  'guard-hit-nosink': 'guard, verifier cache hit, audit sink that keeps nothing',
  'guard-hit': 'guard, verifier cache hit, file audit (decision + outcome sealed, written)',
  'guard-miss': 'guard, cache off (full ES256 check and claims), file audit',
} as const;
type Variant = keyof typeof VARIANTS;
const NAMES = Object.keys(VARIANTS) as Variant[];

/** What a child prints: per variant, CPU µs per operation (native) or nothing (callgrind counts). */
interface ChildResult {
  cpuUs: Partial<Record<Variant, number[]>>;
}

async function child(mode: 'native' | 'callgrind'): Promise<void> {
  const jwk = JSON.parse(process.env.INSTR_BENCH_JWK as string) as JWK;
  const token = process.env.INSTR_BENCH_TOKEN as string;
  const dir = process.env.INSTR_BENCH_DIR as string;
  const key = await importJWK(jwk, 'ES256');
  const keep = {
    healthy: true,
    append: () => undefined,
    noteDropped() {},
    async flush() {},
    async close() {},
  };
  const guarded = (name: string, cache: boolean, sink: pipl.AuditSink) => ({
    sink,
    guard: pipl.createPiplGuard({
      policy,
      consent: benchConsent(jwk, cache),
      audit: { sink, subjectKey: AUDIT_KEY, service: name },
    }),
  });
  const guards = {
    'guard-hit-nosink': guarded('nosink', true, keep),
    'guard-hit': guarded('hit', true, pipl.fileAuditSink({ path: join(dir, 'hit.jsonl') })),
    'guard-miss': guarded('miss', false, pipl.fileAuditSink({ path: join(dir, 'miss.jsonl') })),
  };
  await Promise.all(Object.values(guards).map(({ guard }) => guard.ready()));
  const request = {
    method: 'GET',
    route: '/users/:id/profile',
    header: (name: string) => (name === 'pipl-consent' ? token : undefined),
    subjectId: SUBJECT,
    subjectDeclared: true,
    actor: null,
  };
  const verifyOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] };
  const runs: Record<Variant, (times: number) => Promise<void>> = {
    async jose(times) {
      for (let i = 0; i < times; i++) await jwtVerify(token, key, verifyOptions);
    },
    'guard-hit-nosink': checks('guard-hit-nosink'),
    'guard-hit': checks('guard-hit'),
    'guard-miss': checks('guard-miss'),
  };
  function checks(name: keyof typeof guards) {
    const { guard: g, sink } = guards[name];
    const requirement = g.requirement('account.profile', { operation: 'use' });
    return async (times: number) => {
      for (let i = 0; i < times; i++) {
        const outcome = await g.check(requirement, request);
        if (outcome.decision.reason !== 'consent_valid') throw new Error(`check: ${outcome.decision.reason}`);
        g.recordOutcome(outcome, 200, performance.now());
        if (i % 64 === 63) await sink.flush();
      }
      await sink.flush();
    };
  }
  const result: ChildResult = { cpuUs: {} };
  for (const name of NAMES) await runs[name](WARM);
  if (mode === 'callgrind') {
    const control = (...args: string[]) =>
      execFileSync('callgrind_control', [...args, String(process.pid)], { stdio: 'ignore' });
    for (const name of NAMES) {
      control('--instr=on');
      await runs[name](OPS);
      control('--instr=off');
      control(`--dump=${name}`);
    }
  } else {
    for (let round = 0; round < ROUNDS; round++) {
      const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length] as Variant);
      for (const name of order) {
        const before = process.cpuUsage();
        await runs[name](OPS);
        const used = process.cpuUsage(before);
        const perOp = (used.user + used.system) / OPS;
        result.cpuUs[name] = [...(result.cpuUs[name] ?? []), perOp];
      }
    }
  }
  await Promise.all(Object.values(guards).map(({ guard }) => guard.close()));
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
    });
    proc.stderr.on('data', (chunk) => {
      err += chunk;
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`${command} exited ${code}\n${err.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(7)) as ChildResult);
    });
  });
}

/** Instructions per operation of one variant: all of them, and the part V8 spends compiling and collecting. */
interface Count {
  total: number;
  /** TurboFan/Maglev compiling (functions still being optimised, or re-optimised after a bail-out). */
  jit: number;
  /** Garbage collection (scavenges, marking, sweeping), on the main thread and V8's helpers. */
  gc: number;
}

const JIT = /compiler::|maglev::|Maglev/;
const GC = /Scaveng|Marking|Sweep|heap::|Evacuat|MemoryChunk|Heap::|MarkCompact|ArrayBufferSweeper/;

/**
 * Each callgrind dump, by the label it was dumped with, split with `callgrind_annotate` by function.
 * Compiling and collecting depend on when V8's heuristics fire, which varies run to run by a few
 * percent of the total; what is left (`total − jit − gc`, "own") repeats to within about 2%.
 */
function readDumps(dir: string): Partial<Record<Variant, Count>> {
  const counts: Partial<Record<Variant, Count>> = {};
  for (const file of readdirSync(dir).filter((f) => f.startsWith('callgrind.out'))) {
    const path = join(dir, file);
    const name = /^desc: Trigger: dump (.*)$/m.exec(readFileSync(path, 'utf8'))?.[1]?.trim();
    if (name && (NAMES as string[]).includes(name)) counts[name as Variant] = countOf(path, OPS);
  }
  return counts;
}

/** One dump's instructions per operation, split by function into compiling, GC and the rest. */
function countOf(path: string, operations: number): Count {
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', path], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const count: Count = { total: 0, jit: 0, gc: 0 };
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!match || (match[2] as string).includes('PROGRAM TOTALS')) continue;
    const n = Number((match[1] as string).replaceAll(',', '')) / operations;
    const fn = match[2] as string;
    count.total += n;
    if (JIT.test(fn)) count.jit += n;
    else if (GC.test(fn)) count.gc += n;
  }
  return count;
}

/**
 * One `bench/server.ts` scenario under callgrind: HTTP_WARM requests unmeasured, then HTTP_OPS
 * counted. Under valgrind a request takes about 50 times longer, so the audit writer's 4 ms
 * coalescing delay closes a batch after one or two requests (natively, dozens): per-batch work (a
 * timer, a write on the libuv thread) weighs more per request here than it does natively.
 */
async function httpCount(
  scenario: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  token: string,
): Promise<Count> {
  const out = join(dir, `callgrind.out.${scenario}`);
  const proc = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      '--import',
      'tsx',
      'bench/server.ts',
      scenario,
    ],
    { env: { ...env, BENCH_AUDIT_PATH: join(dir, `${scenario}.jsonl`) }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: proc.stdout });
  const messages: Array<{ type: string; port?: number }> = [];
  let wake: (() => void) | undefined;
  lines.on('line', (line) => {
    if (line.startsWith('{')) messages.push(JSON.parse(line) as { type: string; port?: number });
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const next = async (): Promise<{ type: string; port?: number }> => {
    while (messages.length === 0) {
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      if ((await Promise.race([woken.then(() => false), exited.then(() => true)])) && messages.length === 0)
        throw new Error(`${scenario} under valgrind exited\n${stderr}`);
    }
    return messages.shift() as { type: string; port?: number };
  };
  const ready = await next();
  if (ready.type !== 'ready' || !ready.port)
    throw new Error(`${scenario}: ${JSON.stringify(ready)}\n${stderr}`);
  const load = async (amount: number) => {
    const result = await autocannon({
      url: `http://127.0.0.1:${ready.port}${PROFILE_PATH}`,
      connections: 10,
      amount,
      timeout: 120,
      headers: { 'pipl-consent': token, authorization: `Bearer ${token}` },
    });
    if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
      throw new Error(
        `${scenario}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
      );
  };
  const control = (...args: string[]) =>
    execFileSync('callgrind_control', [...args, String(proc.pid)], { stdio: 'ignore' });
  await load(HTTP_WARM);
  control('--instr=on');
  await load(HTTP_OPS);
  control('--instr=off');
  control(`--dump=${scenario}`);
  proc.stdin.write('stop\n');
  await exited;
  const dump = readdirSync(dir).find((f) => f.startsWith(`callgrind.out.${scenario}.`));
  if (!dump) throw new Error(`${scenario}: no callgrind dump`);
  return countOf(join(dir, dump), HTTP_OPS);
}

/** A count as reported: whole instructions, with the operation's own share apart. */
function summarise(count: Count): { own: number; jit: number; gc: number; instructions: number } {
  return {
    own: Math.round(count.total - count.jit - count.gc),
    jit: Math.round(count.jit),
    gc: Math.round(count.gc),
    instructions: Math.round(count.total),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

async function parent(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('bench:instructions needs valgrind (callgrind): apt-get install valgrind');
    process.exit(2);
  }
  const { jwk, token } = await benchCredentials();
  const work = mkdtempSync(join(tmpdir(), 'pipl-instr-bench-'));
  const env = (dir: string) => ({
    ...process.env,
    INSTR_BENCH_JWK: JSON.stringify(jwk),
    INSTR_BENCH_TOKEN: token,
    INSTR_BENCH_DIR: dir,
  });
  const self = ['--import', 'tsx', 'bench/instructions.ts', '--child'];
  try {
    console.log(`native: ${ROUNDS} rounds × ${OPS} operations per variant after ${WARM} unmeasured`);
    const native = await runChild(process.execPath, [...self, 'native'], env(mkdtempSync(join(work, 'n-'))));
    console.log(`callgrind: ${OPS} operations per variant after ${WARM} unmeasured (about 4 minutes)`);
    const cgDir = KEEP ?? mkdtempSync(join(work, 'cg-'));
    if (KEEP) mkdirSync(KEEP, { recursive: true });
    await runChild(
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${join(cgDir, 'callgrind.out')}`,
        process.execPath,
        ...self,
        'callgrind',
      ],
      env(cgDir),
    );
    const counts = readDumps(cgDir);
    const rows = NAMES.map((name) => {
      const count = counts[name] ?? { total: Number.NaN, jit: Number.NaN, gc: Number.NaN };
      return {
        name,
        description: VARIANTS[name],
        ...summarise(count),
        cpuUs: median(native.cpuUs[name] ?? [Number.NaN]),
        cpuUsRounds: native.cpuUs[name] ?? [],
      };
    });
    const get = (name: Variant) => rows.find((row) => row.name === name) as (typeof rows)[number];
    const jose = get('jose');
    const hit = get('guard-hit');
    const nosink = get('guard-hit-nosink');
    const miss = get('guard-miss');
    const derived = [
      {
        name: 'audit: decision + outcome records, sealed and written (guard-hit − guard-hit-nosink)',
        own: hit.own - nosink.own,
        instructions: hit.instructions - nosink.instructions,
        cpuUs: hit.cpuUs - nosink.cpuUs,
      },
      {
        name: 'cache miss beyond a bare jose.jwtVerify (guard-miss − jose)',
        own: miss.own - jose.own,
        instructions: miss.instructions - jose.instructions,
        cpuUs: miss.cpuUs - jose.cpuUs,
      },
      {
        name: 'cache miss beyond jose and the cache-hit path (guard-miss − jose − guard-hit)',
        own: miss.own - jose.own - hit.own,
        instructions: miss.instructions - jose.instructions - hit.instructions,
        cpuUs: miss.cpuUs - jose.cpuUs - hit.cpuUs,
      },
    ];
    const n = (value: number) => value.toLocaleString('en');
    console.log(
      `\nInstructions per operation (callgrind; "own" leaves out V8 compiling and GC) and CPU µs per operation (native, median of ${ROUNDS})\n`,
    );
    console.log(
      `${'variant'.padEnd(18)} ${'own'.padStart(10)} ${'jit'.padStart(9)} ${'gc'.padStart(9)} ${'total'.padStart(10)} ${'CPU µs'.padStart(8)}  description`,
    );
    for (const row of rows) {
      console.log(
        `${row.name.padEnd(18)} ${n(row.own).padStart(10)} ${n(row.jit).padStart(9)} ${n(row.gc).padStart(9)} ${n(row.instructions).padStart(10)} ${row.cpuUs.toFixed(2).padStart(8)}  ${row.description}`,
      );
    }
    console.log('');
    for (const d of derived) {
      console.log(
        `${d.name}: ${n(d.own)} own instructions (${n(d.instructions)} with compiling and GC), ${d.cpuUs.toFixed(2)} CPU µs`,
      );
    }
    console.log(
      `cache miss beyond jose, own instructions: ${((100 * (miss.own - jose.own)) / jose.own).toFixed(1)}% of jose's own ${n(jose.own)}`,
    );
    const http: Array<{ scenario: string } & ReturnType<typeof summarise>> = [];
    if (HTTP_SCENARIOS.length > 0) {
      console.log(
        `\nOver HTTP: each bench/server.ts scenario under callgrind, ${HTTP_WARM} requests unmeasured, then ${HTTP_OPS} counted (one to two minutes each)`,
      );
      const httpDir = KEEP ?? mkdtempSync(join(work, 'http-'));
      const httpEnv = { ...process.env, BENCH_JWK: JSON.stringify(jwk) };
      for (const scenario of HTTP_SCENARIOS) {
        const count = await httpCount(scenario, httpDir, httpEnv, token);
        http.push({ scenario, ...summarise(count) });
      }
      console.log(
        `\n${'scenario'.padEnd(18)} ${'own'.padStart(10)} ${'jit'.padStart(9)} ${'gc'.padStart(9)} ${'total'.padStart(10)}  own added to bare`,
      );
      for (const row of http) {
        const bare = http.find((b) => b.scenario === `${row.scenario.split('-')[0]}-bare`);
        const added =
          bare && bare !== row
            ? `${n(row.own - bare.own).padStart(8)} (${((100 * (row.own - bare.own)) / bare.own).toFixed(1)}% of bare)`
            : '';
        console.log(
          `${row.scenario.padEnd(18)} ${n(row.own).padStart(10)} ${n(row.jit).padStart(9)} ${n(row.gc).padStart(9)} ${n(row.instructions).padStart(10)}  ${added}`,
        );
      }
    }
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      warm: WARM,
      ops: OPS,
      rounds: ROUNDS,
      rows,
      derived,
      http: { warm: HTTP_WARM, requests: HTTP_OPS, scenarios: http },
    };
    writeFileSync(OUTPUT, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `\nwritten to ${OUTPUT}${KEEP ? `; callgrind dumps in ${KEEP} (callgrind_annotate <file>)` : ''}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] === 'callgrind' ? 'callgrind' : 'native');
else await parent();

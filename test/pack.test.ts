import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as a user gets it: `npm pack` from a checkout without `dist` (prepack must build), the
// tarball installed into an empty app folder, the README's quick starts copied verbatim out of
// README.md and run there with plain tsx, and the `pipl-guard` command run from node_modules/.bin.
// Installs come from the npm cache when it has the packages (--prefer-offline), else the registry.

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsxLoader = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const AUDIT_KEY = 'pack-test-audit-key-0123456789abcdef0123456';

/** The first ```ts block after a heading, or the ```ts block containing `marker`. */
function readmeBlock(find: { heading: string } | { marker: string }): string {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)];
  const block =
    'heading' in find
      ? blocks.find((match) => (match.index ?? 0) > readme.indexOf(`\n${find.heading}\n`))
      : blocks.find((match) => match[1]?.includes(find.marker));
  if (!block?.[1] || ('heading' in find && !readme.includes(`\n${find.heading}\n`))) {
    throw new Error(`README block not found: ${JSON.stringify(find)}`);
  }
  return block[1];
}

/** The version this repository's lockfile installed, so the app's install hits the npm cache. */
const installed = (name: string) =>
  `${name}@${JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version}`;

let work: string;
let app: string;
let packed: { files: { path: string; mode: number }[]; filename: string };
let jwksServer: Server;
let jwksUri: string;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(join(app, 'node_modules/.bin/pipl-guard'), args, { cwd: app });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The README's code, copied verbatim into the app folder. */
function writeReadmeApps(): void {
  writeFileSync(join(app, 'express-app.ts'), readmeBlock({ heading: '## Quick start: Express' }));
  writeFileSync(join(app, 'koa-app.ts'), readmeBlock({ heading: '## Quick start: Koa' }));
  writeFileSync(join(app, 'sign.ts'), readmeBlock({ marker: "import { generateKeyPair } from 'jose';" }));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs one of the app's files as `npx tsx file.ts` would, with the quick starts' environment. */
function start(file: string, port: number): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', tsxLoader, file], {
    cwd: app,
    env: {
      ...process.env,
      PIPL_JWKS_URI: jwksUri,
      PIPL_AUDIT_KEY: AUDIT_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

async function listening(port: number, app: { child: ChildProcess; output: () => string }) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (app.child.exitCode !== null) throw new Error(`the app exited: ${app.output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the app did not listen on ${port}: ${app.output()}`);
}

async function stop(app: { child: ChildProcess; output: () => string }): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => app.child.once('exit', (code) => resolve(code)));
  app.child.kill('SIGTERM');
  return exited;
}

async function issue(purpose: string, categories: string[], consentType: string): Promise<string> {
  const consent = join(app, `${purpose}.consent.json`);
  writeFileSync(
    consent,
    JSON.stringify({
      issuer: 'https://consent.example.cn',
      audience: 'shop-api',
      subject: 'u42',
      notice: { id: 'shop-privacy', version: 3 },
      grants: [{ purpose, categories, ops: ['use'], consentType }],
    }),
  );
  const issued = await cli('token', 'issue', '--key', 'dev-keys.json', '--consent', consent);
  expect(issued.stderr).toBe('');
  expect(issued.code).toBe(0);
  return issued.stdout.trim();
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pipl-pack-'));
  // A clean checkout: sources and build configuration only, no dist; dependencies as `npm ci` left them.
  const checkout = join(work, 'checkout');
  mkdirSync(checkout);
  for (const entry of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
    cpSync(join(repo, entry), join(checkout, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: checkout,
    maxBuffer: 16 * 1024 * 1024,
  });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await exec(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      join(work, packed.filename),
      installed('express'),
      installed('koa'),
      installed('@koa/router'),
      installed('jose'),
      // For the type check of the README's code against the packed declarations.
      installed('@types/express'),
      installed('@types/koa'),
      installed('@types/node'),
    ],
    { cwd: app, maxBuffer: 16 * 1024 * 1024 },
  );

  // The consent service's signing key, made by the installed command and served as its JWKS.
  const keys = await cli('keys', 'generate', '--alg', 'ES256', '--kid', 'dev-1');
  expect(keys.code).toBe(0);
  writeFileSync(join(app, 'dev-keys.json'), keys.stdout);
  const jwks = JSON.stringify(JSON.parse(keys.stdout).jwks);
  jwksServer = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(jwks));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as net.AddressInfo).port}/.well-known/jwks.json`;
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => (jwksServer ? jwksServer.close(resolve) : resolve(undefined)));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack from a clean checkout, installed into an empty app', () => {
  it('ships the built package: dist with types, an executable CLI with a shebang, no sources', () => {
    const paths = packed.files.map((file) => file.path);
    for (const entry of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/audit/index.js',
      'dist/adapters/express/index.js',
      'dist/adapters/koa/index.js',
      'dist/postgres/index.js',
      'dist/redis/index.js',
      'dist/cli/main.js',
      'README.md',
      'package.json',
    ]) {
      expect(paths).toContain(entry);
    }
    expect(paths.filter((path) => !path.startsWith('dist/'))).toEqual(['README.md', 'package.json']);
    const bin = packed.files.find((file) => file.path === 'dist/cli/main.js');
    expect((bin?.mode ?? 0) & 0o111).not.toBe(0);
    const main = readFileSync(join(app, 'node_modules/pipl-guard/dist/cli/main.js'), 'utf8');
    expect(main.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('every entry point loads from the tarball with the same exports as the sources', async () => {
    const entries = {
      'pipl-guard': '../src/index.js',
      'pipl-guard/audit': '../src/audit/index.js',
      'pipl-guard/express': '../src/adapters/express/index.js',
      'pipl-guard/koa': '../src/adapters/koa/index.js',
      'pipl-guard/postgres': '../src/postgres/index.js',
      'pipl-guard/redis': '../src/redis/index.js',
    };
    const script = `const names = {};
for (const entry of ${JSON.stringify(Object.keys(entries))}) names[entry] = Object.keys(await import(entry)).sort();
console.log(JSON.stringify(names));`;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    const fromSources: Record<string, string[]> = {};
    for (const [entry, source] of Object.entries(entries)) {
      fromSources[entry] = Object.keys(await import(source)).sort();
    }
    expect(JSON.parse(stdout)).toEqual(fromSources);
  }, 60_000);

  it('the README quick starts and signing snippet type-check against the packed declarations', async () => {
    writeReadmeApps();
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--skipLibCheck', '--types', 'node'];
    const target = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    const checked = await exec(
      process.execPath,
      [tsc, ...flags, ...target, 'express-app.ts', 'koa-app.ts', 'sign.ts'],
      {
        cwd: app,
      },
    ).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(checked).toEqual({ stdout: '', stderr: '' });
  }, 60_000);

  it('runs the README quick starts verbatim, with tokens from the CLI, and the CLI verifies their log', async () => {
    writeReadmeApps();
    const health = await issue('health.records', ['medical_health'], 'separate');
    const marketing = await issue('marketing.personalized', ['behavior'], 'general');

    const expressPort = await freePort();
    const expressApp = start('express-app.ts', expressPort);
    try {
      await listening(expressPort, expressApp);
      const base = `http://127.0.0.1:${expressPort}/users/u42/records`;
      const allowed = await fetch(base, { headers: { 'pipl-consent': health } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ user: 'u42', consent: expect.any(String) });
      const denied = await fetch(base);
      expect([denied.status, denied.headers.get('content-type')]).toEqual([
        403,
        'application/problem+json; charset=utf-8',
      ]);
      expect(((await denied.json()) as { code: string }).code).toBe('consent_required');
      const otherUser = await fetch(base.replace('u42', 'u43'), { headers: { 'pipl-consent': health } });
      expect(((await otherUser.json()) as { code: string }).code).toBe('subject_mismatch');
    } finally {
      expect(await stop(expressApp)).toBe(0);
    }

    const koaPort = await freePort();
    const koaApp = start('koa-app.ts', koaPort);
    try {
      await listening(koaPort, koaApp);
      const base = `http://127.0.0.1:${koaPort}/users/u42/feed`;
      const personal = await fetch(base, { headers: { 'pipl-consent': marketing } });
      expect(await personal.json()).toEqual({ feed: 'picked for u42' });
      expect(await (await fetch(base)).json()).toEqual({ feed: 'bestsellers' });
    } finally {
      expect(await stop(koaApp)).toBe(0);
    }

    // Both apps wrote ./var/audit/pipl.jsonl, one after the other: one chain, closed cleanly twice.
    const verified = await cli('audit', 'verify', 'var/audit/pipl.jsonl');
    expect(verified.stdout).toMatch(/VALID/);
    expect(verified.code).toBe(0);
    const decisions = await cli(
      'audit',
      'query',
      'var/audit/pipl.jsonl',
      '--type',
      'decision',
      '--format',
      'jsonl',
    );
    expect(decisions.code).toBe(0);
    const reasons = decisions.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).reason);
    expect(reasons).toEqual([
      'consent_valid',
      'consent_required',
      'subject_mismatch',
      'consent_valid',
      'degraded_no_consent',
    ]);
    const starts = readFileSync(join(app, 'var/audit/pipl.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((record) => record.type === 'writer_start');
    expect(starts.map((record) => record.cleanShutdown)).toEqual([true, true]);
  }, 120_000);

  it('runs the README signing snippet (jose installed in the app) and the CLI decodes its token', async () => {
    writeReadmeApps();
    const { stdout } = await exec(process.execPath, ['--import', tsxLoader, 'sign.ts'], { cwd: app });
    const inspected = await cli('token', 'inspect', stdout.trim());
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({
      header: { alg: 'ES256', typ: 'pipl-consent+jwt' },
      claims: { sub: 'u42', iss: 'https://consent.example.cn', aud: 'shop-api' },
    });
  }, 60_000);
});

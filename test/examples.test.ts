import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { probe } from './support/processes.js';

// The README's first command and the multi-instance example, run as a newcomer runs them.
const run = promisify(execFile);
const tsx = (script: string) => run(process.execPath, ['--import', 'tsx', script], { timeout: 60_000 });

const servers =
  (process.env.DATABASE_URL !== undefined || (await probe('127.0.0.1', 5432, 500))) &&
  (process.env.REDIS_URL !== undefined || (await probe('127.0.0.1', 6379, 500)));
if (!servers) console.warn('examples.test.ts: multi-instance example skipped: it needs PostgreSQL and Redis');

describe('examples', () => {
  it('npm run demo: every expectation met, both logs valid, tampering caught', async () => {
    const { stdout } = await tsx('examples/demo.ts');
    expect(stdout).toMatch(/All expectations met\./);
    expect(stdout).not.toMatch(/^✗/m);
    expect(stdout.match(/valid=true/g)).toHaveLength(2);
    expect(stdout).toMatch(/✓ verify {2}hash_mismatch/);
  }, 60_000);

  it.skipIf(!servers)(
    'npm run demo:multi: a withdrawal on one instance holds on the other; chains verify',
    async () => {
      const { stdout } = await tsx('examples/multi-instance.ts');
      expect(stdout).toMatch(/✓ shop-api-2 {2}403 consent_withdrawn/);
      expect(stdout).toMatch(/✓ UPDATE refused by the table/);
      expect(stdout).not.toMatch(/^✗/m);
    },
    60_000,
  );
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The decorator and framework examples, run with the npm scripts' commands, as a newcomer runs them.
const run = promisify(execFile);
const EXAMPLES = [
  { script: 'example:decorators', name: 'decorators' },
  { script: 'example:nestjs', name: 'nestjs' },
  { script: 'example:routing-controllers', name: 'routing-controllers' },
  { script: 'example:midway', name: 'midway' },
  { script: 'example:egg', name: 'egg' },
] as const;

describe('integration examples', () => {
  for (const example of EXAMPLES) {
    it(`npm run ${example.script}: denials, the allowed request and the audited route pattern`, async () => {
      const { stdout } = await run('npm', ['run', '--silent', example.script], { timeout: 90_000 });
      expect(stdout).toMatch(new RegExp(`✓ ${example.name} {2}no consent token: 403 consent_required`));
      expect(stdout).toMatch(/subject_mismatch/);
      expect(stdout).toMatch(/200 consent_valid/);
      expect(stdout).toMatch(/route pattern: \/users\/:id\/records$/m);
      expect(stdout).toMatch(/All expectations met\./);
      expect(stdout).not.toMatch(/^✗/m);
    }, 90_000);
  }
});

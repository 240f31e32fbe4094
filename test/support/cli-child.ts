import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORT_RSS = fileURLToPath(new URL('./report-rss.mjs', import.meta.url));

/**
 * Runs the CLI from source as its users do (a child process), and also reports the child's peak
 * resident memory (`process.resourceUsage().maxRSS`, KiB) and wall time.
 */
export function runCliMeasured(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; maxRssKiB: number; ms: number }> {
  const report = join(mkdtempSync(join(tmpdir(), 'pipl-rss-')), 'rss');
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', REPORT_RSS, 'src/cli/main.ts', ...args],
      { env: { ...process.env, ...env, PIPL_RSS_REPORT: report }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const ms = performance.now() - started;
        let maxRssKiB = Number.NaN;
        try {
          maxRssKiB = Number(readFileSync(report, 'utf8'));
        } catch {}
        const code = error ? ((error as { code?: number }).code ?? 2) : 0;
        resolve({ code, stdout, stderr, maxRssKiB, ms });
      },
    );
  });
}

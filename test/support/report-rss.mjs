// Preloaded into a CLI child process by cli-child.ts: writes its peak RSS (KiB) on exit.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.PIPL_RSS_REPORT;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});

// Egg 4 needs a cookie-signing key. Its logs and run files go to a temp dir, not into the repository.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'pipl-egg-example-'));
export default {
  keys: 'pipl-guard-egg-example',
  rundir: join(dir, 'run'),
  logger: { dir: join(dir, 'logs') },
};

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { readTailLines, segmentsOf } from './segments.js';

/**
 * The chain a file sink writes when none is named. An existing log keeps the chain it has (a
 * restart continues it); a new log gets `<hostname>-<8 random hex digits>`, so two instances never
 * share a name by default and a directory of their logs can be told apart and merged by time.
 * Name chains yourself (`chain: process.env.POD_NAME`) to get stable, readable names.
 *
 * @example
 * ```ts
 * defaultChainName('./var/audit/pipl.jsonl'); // 'api-7f9c-3b1e90a2' for a new log
 * ```
 */
export function defaultChainName(path: string): string {
  for (const file of [
    path,
    ...segmentsOf(path)
      .map((segment) => segment.path)
      .reverse(),
  ]) {
    const chain = lastChain(file);
    if (chain !== undefined) return chain;
  }
  return `${hostname()}-${randomBytes(4).toString('hex')}`;
}

/** The chain of the last parseable record in the file's final 256 KiB (a torn last line is skipped). */
function lastChain(file: string): string | undefined {
  const lines = readTailLines(file);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const chain = (JSON.parse(lines[i] as string) as { chain?: unknown }).chain;
      if (typeof chain === 'string') return chain;
    } catch {}
  }
  return undefined;
}

import { readFileSync } from 'node:fs';
import { UsageError } from './sources.js';

/** Parsed command-line flags. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export function readJson(path: string, flag: string): unknown {
  try {
    return JSON.parse(readText(path));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${flag} ${path} is not JSON`);
  }
}

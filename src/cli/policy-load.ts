import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { definePolicy, type Policy, type PolicyInput } from '../policy/define-policy.js';
import { UsageError } from './sources.js';

/**
 * Loads `--policy <module>` with dynamic import: a .js/.mjs module (a .ts one when the CLI itself
 * runs under tsx) whose default export, or `policy` export, is a policy from `definePolicy()` or the
 * plain input to it (then validated here, with definePolicy's messages).
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = path.endsWith('.ts') ? ' (a .ts module loads only when the CLI runs under tsx)' : '';
    throw new UsageError(`cannot load policy module ${path}: ${code ?? (error as Error).message}${hint}`);
  }
  const value = loaded.policy ?? loaded.default;
  if (typeof value !== 'object' || value === null || !('purposes' in value)) {
    throw new UsageError(`${path} exports no policy: export it as default or as \`policy\``);
  }
  if ((value as { purposes: unknown }).purposes instanceof Map) return value as Policy;
  try {
    return definePolicy(value as PolicyInput);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

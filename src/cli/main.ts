#!/usr/bin/env node
import { VERSION } from '../version.js';
import type { CliCommand } from './command.js';
import { COMMANDS } from './commands.js';
import { printable } from './output.js';
import { UsageError } from './sources.js';

const EXIT_CODES = 'Exit codes: 0 valid / done, 1 invalid log, 2 usage or key error.';
const HELP = ['--help', '-h'];

async function overview(group?: string): Promise<string> {
  const lines: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    if (group !== undefined && !name.startsWith(`${group} `)) continue;
    lines.push(`  pipl-guard ${name.padEnd(14)} ${(await load()).summary}`);
  }
  return `pipl-guard ${VERSION}: tools for PIPL audit logs and consent tokens

Usage:
${lines.join('\n')}

Run \`pipl-guard <command> --help\` for a command's options (e.g. pipl-guard audit query --help).
${EXIT_CODES}
`;
}

async function main(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (!group || HELP.includes(group) || group === 'help') {
    process.stdout.write(await overview());
    return group ? 0 : 2;
  }
  if (group === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const groups = new Set(Object.keys(COMMANDS).map((name) => name.split(' ')[0]));
  if (!groups.has(group)) throw new UsageError(`unknown command "${group}"`);
  // A one-word command (`report`): everything after it is its own arguments.
  const single = COMMANDS[group];
  if (single) return runCommand(await single(), argv.slice(1));
  if (!command || HELP.includes(command)) {
    process.stdout.write(await overview(group));
    if (!command) throw new UsageError(`${group} needs a command`);
    return 0;
  }
  const load = COMMANDS[`${group} ${command}`];
  if (!load) throw new UsageError(`unknown command "${group} ${command}"`);
  return runCommand(await load(), rest);
}

async function runCommand(cli: CliCommand, rest: string[]): Promise<number> {
  // `--help` anywhere before a `--` separator: the command's usage, nothing run.
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((arg) => HELP.includes(arg))) {
    process.stdout.write(cli.usage);
    return 0;
  }
  return cli.run(rest);
}

// `pipl-guard audit query … | head`: the reader left, which is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage =
      error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(
      `pipl-guard: ${printable((error as Error)?.message ?? String(error))}\n${usage ? 'Run `pipl-guard --help` for usage.\n' : ''}`,
    );
    // Usage and key errors are 2; so is anything unforeseen, which must never read as "invalid log".
    process.exitCode = 2;
  },
);

/** One `pipl-guard <group> <command>`: its own module, its own options and usage text. */
export interface CliCommand {
  /** `audit verify`, `keys generate`, … */
  name: string;
  /** One line for the overview. */
  summary: string;
  /** Printed by `pipl-guard <group> <command> --help` (exit 0). */
  usage: string;
  run(args: string[]): Promise<number> | number;
}

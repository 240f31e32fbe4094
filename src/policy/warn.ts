const said = new Set<string>();

/**
 * Emits a start-up warning (`process.emitWarning`, code `PIPL_GUARD_POLICY`) once per process:
 * a route built for every app instance (or every test) must not repeat the same line.
 */
export function warnOnce(message: string): void {
  if (said.has(message)) return;
  said.add(message);
  process.emitWarning(message, { code: 'PIPL_GUARD_POLICY' });
}

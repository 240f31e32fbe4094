/**
 * bench/README.md says its results table is `bench/results/latest.json`: the committed run and the
 * table printed from it must not drift apart (a re-run without the table, or a table edited by hand).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PEER_TARGETS, peerCeiling } from '../bench/shared.js';

interface Scenario {
  name: string;
  rounds: { reqPerSec: number }[];
  baseline?: string;
  reqPerSec: { mean: number };
  ratio?: number;
  serverCpuUsPerRequest: number;
  addedCpuUs?: number;
}
interface Target {
  target: string;
  value: number;
  limit: number;
  met: boolean;
  ceiling?: number;
}

const results = JSON.parse(
  readFileSync(new URL('../bench/results/latest.json', import.meta.url), 'utf8'),
) as {
  scenarios: Scenario[];
  targets: Target[];
};
const readme = readFileSync(new URL('../bench/README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Results'), readme.indexOf('## Instruction counts'));

/** The cells of the first table row in the Results section that starts with `| first |`. */
function row(first: string): string[] {
  const line = section.split('\n').find((text) => text.startsWith(`| ${first} |`));
  if (line === undefined) throw new Error(`no row for ${first} in bench/README.md's Results`);
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

describe('bench/README.md Results is latest.json', () => {
  it.each(results.scenarios.map((s) => [s.name, s] as const))('scenario %s', (_name, scenario) => {
    const [, reqs, , , ratio, , cpu, added] = row(scenario.name);
    expect(Number(reqs)).toBe(Math.round(scenario.reqPerSec.mean));
    expect(Number(cpu)).toBe(Math.round(scenario.serverCpuUsPerRequest));
    if (scenario.baseline) {
      expect(ratio).toBe((scenario.ratio as number).toFixed(2));
      expect(Number(added)).toBe(Math.round(scenario.addedCpuUs as number));
    }
  });

  it.each(results.targets.map((t) => [t.target, t] as const))('target %s', (_name, target) => {
    const [, value, limit, met] = row(target.target);
    expect(value).toBe(target.value.toFixed(2));
    expect(Number(limit)).toBe(target.limit);
    expect(met).toBe(target.met ? 'yes' : '**no**');
  });

  it.each(PEER_TARGETS.map((t) => [`${t.faster} req/s ÷ ${t.than}`, t] as const))(
    'the ceiling of %s',
    (name, target) => {
      const scenario = (n: string) => results.scenarios.find((s) => s.name === n) as Scenario;
      const ceiling = peerCeiling(scenario(target.bare).rounds, scenario(target.than).rounds) as number;
      // A run that recorded its ceiling must agree with the rounds it recorded.
      const recorded = results.targets.find((t) => t.target === name)?.ceiling;
      if (recorded !== undefined) expect(recorded).toBe(ceiling);
      expect(row(name)[4]).toBe(ceiling.toFixed(2));
    },
  );
});

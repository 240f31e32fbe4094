import { UsageError } from '../cli/sources.js';
import type { DailySeries, Tally } from './aggregate.js';

/** The part of the `echarts` module the report uses. */
export interface EchartsModule {
  init(
    dom: null,
    theme: null,
    options: { renderer: 'svg'; ssr: true; width: number; height: number },
  ): { setOption(option: unknown): void; renderToSVGString(): string; dispose(): void };
}

/**
 * Loads the optional `echarts` peer, only for the report command: the middleware never needs it.
 *
 * @example
 * ```ts
 * const echarts = await loadEcharts();
 * ```
 */
export async function loadEcharts(specifier = 'echarts'): Promise<EchartsModule> {
  try {
    const loaded = (await import(specifier)) as { default?: EchartsModule } & EchartsModule;
    return typeof loaded.init === 'function' ? loaded : (loaded.default as EchartsModule);
  } catch {
    throw new UsageError(
      'pipl-guard report draws its charts with Apache ECharts, an optional dependency: run `npm install echarts@6` and try again',
    );
  }
}

const FONT = 'system-ui, Noto Sans CJK SC, Noto Sans SC, sans-serif';
const WIDTH = 760;

function render(echarts: EchartsModule, option: Record<string, unknown>, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: FONT }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Horizontal bars, largest first. */
export function barChart(echarts: EchartsModule, tally: Tally): string {
  const entries = Object.entries(tally).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const names = entries.map(([key]) => key).reverse();
  const values = entries.map(([, n]) => n).reverse();
  return render(
    echarts,
    {
      grid: { left: 16, right: 48, top: 16, bottom: 24, containLabel: true },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: names },
      series: [{ type: 'bar', data: values, label: { show: true, position: 'right' } }],
    },
    Math.max(120, 40 + names.length * 28),
  );
}

/** Stacked bars per day, one series per key. */
export function dailyChart(echarts: EchartsModule, daily: DailySeries): string {
  return render(
    echarts,
    {
      legend: { type: 'plain', top: 0 },
      grid: { left: 16, right: 24, top: 72, bottom: 24, containLabel: true },
      xAxis: { type: 'category', data: daily.days },
      yAxis: { type: 'value', minInterval: 1 },
      series: Object.entries(daily.series).map(([name, data]) => ({ name, type: 'bar', stack: 'all', data })),
    },
    320,
  );
}

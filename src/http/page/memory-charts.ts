import type { CoreReport } from '../../memory/report.js'
import { type ChartSpec, field, renderChart } from './charts.js'
import { percent } from './format.js'

/** What the charts need besides the report: the thresholds drawn on the container limit. */
export interface ChartOptions {
  readonly warnRatio: number
  readonly criticalRatio: number
}

/**
 * The page's four charts over the history window: (a) the working set against the container
 * limit with the warn and critical lines, (b) the V8 heap (used, total, live after GC) against
 * V8's heap limit, (c) external memory and array buffers, (d) RSS.
 */
export function chartSpecs(report: CoreReport, o: ChartOptions): ChartSpec[] {
  const h = report.history
  const limit = report.container?.limitBytes ?? null
  const containerNote =
    report.container === null
      ? 'No memory cgroup here: the working set is not measured, and there is no container limit to draw.'
      : limit === null
        ? 'No container memory limit: no limit, warn or critical line to draw. Set a memory limit on the container.'
        : null
  return [
    {
      id: 'chart-container',
      title: 'Working set against the container limit',
      series: [{ name: 'workingSet', label: 'working set', colour: 'c1', values: field(h, 'workingSet') }],
      limits:
        limit === null
          ? []
          : [
              { name: 'limit', label: 'container limit', bytes: limit, kind: 'limit' },
              { name: 'critical', label: `critical (${percent(o.criticalRatio)})`, bytes: Math.round(limit * o.criticalRatio), kind: 'critical' },
              { name: 'warn', label: `warn (${percent(o.warnRatio)})`, bytes: Math.round(limit * o.warnRatio), kind: 'warn' },
            ],
      note: containerNote,
    },
    {
      id: 'chart-heap',
      title: "V8 heap against V8's heap limit",
      series: [
        { name: 'heapUsed', label: 'heap used', colour: 'c1', values: field(h, 'heapUsed') },
        { name: 'heapTotal', label: 'heap total', colour: 'c2', values: field(h, 'heapTotal') },
        { name: 'liveAfterGc', label: 'live after GC', colour: 'c3', values: field(h, 'liveAfterGc') },
      ],
      limits: [{ name: 'heapLimit', label: 'V8 heap limit', bytes: report.v8.heapSizeLimit, kind: 'limit' }],
      note: null,
    },
    {
      id: 'chart-external',
      title: 'External memory and array buffers',
      series: [
        { name: 'external', label: 'external', colour: 'c2', values: field(h, 'external') },
        { name: 'arrayBuffers', label: 'array buffers', colour: 'c4', values: field(h, 'arrayBuffers') },
      ],
      limits: [],
      note: null,
    },
    {
      id: 'chart-rss',
      title: 'Resident set size (RSS)',
      series: [{ name: 'rss', label: 'RSS', colour: 'c3', values: field(h, 'rss') }],
      limits: [],
      note: null,
    },
  ]
}

/** The four charts as HTML. */
export function renderCharts(report: CoreReport, o: ChartOptions): string {
  const now = Date.parse(report.timestamp)
  const times = report.history.map((s) => s.t)
  return chartSpecs(report, o)
    .map((spec) => renderChart(spec, times, now))
    .join('')
}

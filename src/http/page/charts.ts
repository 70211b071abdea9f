import type { Sample } from '../../memory/sampler.js'
import { axisUnit, bytes, esc } from './format.js'
import { type Plot, pathData, scale, segments, tickLabel, ticks } from './geometry.js'

/** One line of a chart: a history field, drawn as a `<path data-series="name">`. */
export interface SeriesSpec {
  /** The `data-series` name (the history field it reads, e.g. `workingSet`). */
  readonly name: string
  readonly label: string
  /** Its colour class in the stylesheet (`c1` … `c4`): colours follow the theme. */
  readonly colour: string
  readonly values: readonly (number | null)[]
}

/** A horizontal reference line: a limit, or a threshold on one. */
export interface LimitSpec {
  /** The `data-line` name: `limit`, `warn`, `critical`, `heapLimit`. */
  readonly name: string
  readonly label: string
  readonly bytes: number
  /** `limit`, `warn` or `critical`: its class in the stylesheet. */
  readonly kind: 'limit' | 'warn' | 'critical'
}

/** What one chart shows. */
export interface ChartSpec {
  /** Element id prefix, unique on the page. */
  readonly id: string
  readonly title: string
  readonly series: readonly SeriesSpec[]
  readonly limits: readonly LimitSpec[]
  /** Shown under the chart (e.g. "No container limit: nothing to draw it against"). */
  readonly note: string | null
}

/**
 * A reference line is drawn (and the scale stretched to it) only while the data reach at least a
 * quarter of it: a 4 GiB heap limit over a 40 MiB heap would flatten the lines into the axis.
 * Further away, the legend says so instead.
 */
export const LIMIT_IN_SCALE = 4

/** The viewBox and the plot inside it, in user units (the SVG scales to its box's width). */
export const VIEW = Object.freeze({ width: 480, height: 250 })
const PLOT: Plot = { left: 54, top: 12, width: 480 - 54 - 12, height: 250 - 12 - 40 }

function extent(values: readonly (number | null)[]): { min: number; max: number; latest: number | null } | null {
  let min = Infinity
  let max = -Infinity
  let latest: number | null = null
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue
    min = Math.min(min, v)
    max = Math.max(max, v)
    latest = v
  }
  return latest === null ? null : { min, max, latest }
}

/**
 * One chart as a `<figure>`: an SVG (viewBox, one `<path>` per series with one vertex per sample
 * that has a value, gaps where it has none), axes in binary units and minutes ago, a `<title>`
 * and `<desc>` for screen readers, and an HTML legend with the newest values.
 */
export function renderChart(spec: ChartSpec, times: readonly number[], now: number): string {
  const extents = spec.series.map((s) => extent(s.values))
  const dataMax = Math.max(0, ...extents.map((e) => e?.max ?? 0))
  const drawn = spec.limits.filter((l) => l.bytes > 0 && (dataMax === 0 || l.bytes <= LIMIT_IN_SCALE * dataMax))
  const offScale = spec.limits.filter((l) => !drawn.includes(l))
  const highest = Math.max(dataMax, ...drawn.map((l) => l.bytes)) * 1.05
  const unit = axisUnit(highest)
  // The axis ends on a tick above everything drawn, so the top of the chart is labelled.
  const step = ticks(highest / unit.bytes).step
  const top = Math.max(step, Math.ceil(highest / unit.bytes / step) * step) * unit.bytes
  const yTicks = ticks(top / unit.bytes)
  const t0 = times.length > 0 ? Math.min(times[0] as number, now) : now
  const s = scale(PLOT, t0, now, top)
  const agoMinutes = (now - t0) / 60_000
  const xTicks = ticks(agoMinutes > 0 ? agoMinutes : 1)

  const parts: string[] = []
  for (const v of yTicks.values) {
    const y = s.y(v * unit.bytes).toFixed(1)
    parts.push(`<line class="grid" x1="${PLOT.left}" x2="${PLOT.left + PLOT.width}" y1="${y}" y2="${y}"/>`)
    parts.push(`<text class="axis" x="${PLOT.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(v)}</text>`)
  }
  const mid = PLOT.top + PLOT.height / 2
  parts.push(`<text class="axis" x="12" y="${mid}" text-anchor="middle" transform="rotate(-90 12 ${mid})">${unit.name}</text>`)
  const bottom = PLOT.top + PLOT.height
  for (const m of xTicks.values) {
    if (m > agoMinutes + 1e-9) continue
    const x = s.x(now - m * 60_000).toFixed(1)
    parts.push(`<line class="tick" x1="${x}" x2="${x}" y1="${bottom}" y2="${bottom + 4}"/>`)
    parts.push(`<text class="axis" x="${x}" y="${bottom + 16}" text-anchor="middle">${tickLabel(m)}</text>`)
  }
  parts.push(`<text class="axis" x="${PLOT.left + PLOT.width / 2}" y="${VIEW.height - 4}" text-anchor="middle">minutes ago</text>`)
  parts.push(`<line class="frame" x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${bottom}"/>`)
  parts.push(`<line class="frame" x1="${PLOT.left}" x2="${PLOT.left + PLOT.width}" y1="${bottom}" y2="${bottom}"/>`)
  for (const l of drawn) {
    const y = s.y(l.bytes).toFixed(1)
    parts.push(`<line class="ref ref-${l.kind}" data-line="${esc(l.name)}" x1="${PLOT.left}" x2="${PLOT.left + PLOT.width}" y1="${y}" y2="${y}"/>`)
  }
  spec.series.forEach((series) => {
    const d = pathData(segments(times, series.values), s)
    parts.push(`<path class="line ${series.colour}" data-series="${esc(series.name)}" d="${d}"/>`)
  })

  const titleId = `${spec.id}-title`
  const descId = `${spec.id}-desc`
  const legend = [
    ...spec.series.map((series, i) => {
      const e = extents[i]
      const value = e === null || e === undefined ? 'no samples' : bytes(e.latest)
      return `<li><span class="key ${series.colour}"></span>${esc(series.label)} <b>${value}</b></li>`
    }),
    ...drawn.map((l) => `<li><span class="key ref-${l.kind}"></span>${esc(l.label)} <b>${bytes(l.bytes)}</b></li>`),
    ...offScale.map((l) => `<li class="muted">${esc(l.label)} ${bytes(l.bytes)}: far above the chart</li>`),
  ].join('')
  return [
    `<figure class="chart" id="${spec.id}">`,
    `<figcaption>${esc(spec.title)}</figcaption>`,
    `<svg viewBox="0 0 ${VIEW.width} ${VIEW.height}" role="img" aria-labelledby="${titleId} ${descId}" preserveAspectRatio="xMidYMid meet">`,
    `<title id="${titleId}">${esc(spec.title)}</title>`,
    `<desc id="${descId}">${esc(describe(spec, extents, times, now))}</desc>`,
    parts.join(''),
    `</svg>`,
    `<ul class="legend">${legend}</ul>`,
    spec.note === null ? '' : `<p class="note">${esc(spec.note)}</p>`,
    `</figure>`,
  ].join('')
}

/** The chart in one sentence, for a screen reader. */
function describe(spec: ChartSpec, extents: readonly (ReturnType<typeof extent> | undefined)[], times: readonly number[], now: number): string {
  const window = times.length === 0 ? 'no samples yet' : `${times.length} samples over the last ${((now - (times[0] as number)) / 60_000).toFixed(1)} minutes`
  const series = spec.series.map((s, i) => {
    const e = extents[i]
    return e === null || e === undefined ? `${s.label}: no values` : `${s.label} from ${bytes(e.min)} to ${bytes(e.max)}, now ${bytes(e.latest)}`
  })
  const limits = spec.limits.map((l) => `${l.label} ${bytes(l.bytes)}`)
  return [`${spec.title}: ${window}`, ...series, ...limits, ...(spec.note === null ? [] : [spec.note])].join('; ') + '.'
}

/** The history as the charts read it: times, and one field's values. */
export function field(history: readonly Sample[], key: keyof Sample): (number | null)[] {
  return history.map((s) => s[key])
}

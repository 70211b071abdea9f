/**
 * The geometry of the page's charts, apart from any SVG: which samples become vertices, where
 * they go, and the axes' ticks. Pure, and bounded by {@link MAX_VERTICES} whatever the history.
 */

/**
 * Most vertices one series is drawn with. The rule: a history of n samples is split into
 * min(n, MAX_VERTICES) buckets of consecutive samples (bucket i holds samples
 * floor(i·n/B) to floor((i+1)·n/B) − 1); each bucket with a value gives one vertex, its highest
 * value at that sample's time (memory peaks are what matter), and a bucket with none is a gap.
 * So up to MAX_VERTICES samples every sample with a value is a vertex, and a history of 10,000
 * (the most `historySize` allows) is drawn with at most 600 per series.
 */
export const MAX_VERTICES = 600

/** One vertex: a time (epoch ms) and a value (bytes). */
export interface Vertex {
  readonly t: number
  readonly v: number
}

/**
 * The vertices of one series as runs without gaps: `values[i]` belongs to `times[i]`, and a null
 * (or non-finite) value breaks the line, it is not a zero. Downsampled as {@link MAX_VERTICES} says.
 */
export function segments(times: readonly number[], values: readonly (number | null)[], max: number = MAX_VERTICES): Vertex[][] {
  const n = Math.min(times.length, values.length)
  const buckets = Math.min(n, max)
  const out: Vertex[][] = []
  let run: Vertex[] | null = null
  for (let b = 0; b < buckets; b++) {
    let best: Vertex | null = null
    for (let i = Math.floor((b * n) / buckets); i < Math.floor(((b + 1) * n) / buckets); i++) {
      const v = values[i]
      if (typeof v === 'number' && Number.isFinite(v) && (best === null || v > best.v)) best = { t: times[i] as number, v }
    }
    if (best === null) {
      run = null
      continue
    }
    if (run === null) {
      run = []
      out.push(run)
    }
    run.push(best)
  }
  return out
}

/** The rectangle a chart draws its data in, in viewBox units. */
export interface Plot {
  readonly left: number
  readonly top: number
  readonly width: number
  readonly height: number
}

/** A linear map from a domain onto the plot (x: time, y: bytes, 0 at the bottom). */
export interface Scale {
  readonly t0: number
  readonly t1: number
  readonly yMax: number
  x(t: number): number
  y(v: number): number
}

/** The scale of a plot showing times t0..t1 and values 0..yMax (a zero-length time range is centred). */
export function scale(plot: Plot, t0: number, t1: number, yMax: number): Scale {
  const dt = t1 - t0
  const top = yMax > 0 ? yMax : 1
  return {
    t0,
    t1,
    yMax: top,
    x: (t) => (dt > 0 ? plot.left + ((t - t0) / dt) * plot.width : plot.left + plot.width / 2),
    y: (v) => plot.top + plot.height - (Math.max(0, v) / top) * plot.height,
  }
}

const round = (n: number): string => String(Math.round(n * 10) / 10)

/**
 * An SVG path through the runs: `M` starts each run, `L` adds each further vertex, so the path has
 * exactly one command letter per vertex. A run of one vertex is closed (`Z`) so round caps show it as a dot.
 */
export function pathData(runs: readonly (readonly Vertex[])[], s: Scale): string {
  return runs
    .map((run) => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(s.x(p.t))} ${round(s.y(p.v))}`).join(' ') + (run.length === 1 ? ' Z' : ''))
    .join(' ')
}

/** 1, 2 or 5 times a power of ten: the step of at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1
  const pow = 10 ** Math.floor(Math.log10(raw))
  const f = raw / pow
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow
}

/** Ticks from 0 up to `max` (inclusive) about `target` of them, at a nice step; the step too. */
export function ticks(max: number, target = 5): { readonly step: number; readonly values: number[] } {
  const step = niceStep(max / target)
  const values: number[] = []
  for (let v = 0; v <= max * (1 + 1e-9) && values.length <= 2 * target + 2; v += step) values.push(Math.round(v / step) * step)
  return { step, values }
}

/** A tick value as short text: no trailing zeros (`0.5`, `2`, `12.5`). */
export function tickLabel(v: number): string {
  return String(Number(v.toPrecision(6)))
}

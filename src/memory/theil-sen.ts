/**
 * Robust line fitting for memory series. Least squares over raw samples is fooled by a sawtooth
 * heap (a GC at the end of the window looks like shrinkage, one before it like growth) and by one
 * big allocation; the Theil–Sen estimator, the median of the slopes between every pair of points,
 * ignores up to 29% of outliers and needs no distribution.
 */

/** A point of a series: time in ms, value in bytes. */
export interface Point {
  readonly t: number
  readonly v: number
}

/** A fitted line and how much the points agree with it. */
export interface Fit {
  /** Median pairwise slope, in value units per second. */
  readonly slopePerSecond: number
  /** Median of `v - slope * t` (the line's value at t = 0 ms, in the series' own time base). */
  readonly intercept: number
  /** Share of point pairs (with distinct times) whose slope is positive: 1 for a steady rise, ~0.5 for noise. */
  readonly positiveShare: number
  /** Median absolute deviation of the residuals around the line: the series' noise, in value units. */
  readonly noise: number
  /** Time from the first to the last point, in seconds. */
  readonly spanSeconds: number
  readonly points: number
}

function median(values: number[]): number {
  if (values.length === 0) return 0
  values.sort((a, b) => a - b)
  const mid = values.length >> 1
  return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2
}

/**
 * Fits a Theil–Sen line to the points (at most a few hundred: the cost is quadratic), or null with
 * fewer than two points at distinct times. Times are ms; the slope comes out per second.
 */
export function theilSen(points: readonly Point[]): Fit | null {
  const slopes: number[] = []
  let positive = 0
  for (let i = 0; i < points.length; i++) {
    const a = points[i] as Point
    for (let j = i + 1; j < points.length; j++) {
      const b = points[j] as Point
      const dt = b.t - a.t
      if (dt === 0) continue
      const slope = (b.v - a.v) / dt
      slopes.push(slope)
      if (slope > 0) positive++
    }
  }
  if (slopes.length === 0) return null
  const perMs = median(slopes)
  const intercept = median(points.map((p) => p.v - perMs * p.t))
  const noise = median(points.map((p) => Math.abs(p.v - (intercept + perMs * p.t))))
  const first = points[0] as Point
  const last = points[points.length - 1] as Point
  return {
    slopePerSecond: perMs * 1000,
    intercept,
    positiveShare: positive / slopes.length,
    noise,
    spanSeconds: (last.t - first.t) / 1000,
    points: points.length,
  }
}

import type { Point } from '../memory/theil-sen.js'

/**
 * A bounded time series for the trend: points older than the window fall off, and when the
 * series is full the older half is thinned (every other point dropped), so a long window keeps its
 * span with a bounded number of points and recent points keep their resolution.
 */
export class Series {
  #points: Point[] = []

  constructor(
    readonly maxPoints: number,
    readonly windowMs: number,
  ) {}

  /** Adds a point (ignored when not after the newest, or not finite). */
  push(t: number, v: number): void {
    if (!Number.isFinite(v)) return
    const last = this.#points.at(-1)
    if (last !== undefined && t <= last.t) return
    this.#points.push({ t, v })
    const cutoff = t - this.windowMs
    let drop = 0
    while (drop < this.#points.length - 1 && (this.#points[drop] as Point).t < cutoff) drop++
    if (drop > 0) this.#points.splice(0, drop)
    if (this.#points.length > this.maxPoints) {
      const half = this.#points.length >> 1
      const older = this.#points.slice(0, half).filter((_p, i) => i % 2 === 0)
      this.#points = [...older, ...this.#points.slice(half)]
    }
  }

  /** The points kept, oldest first. */
  get points(): readonly Point[] {
    return this.#points
  }

  /** The newest point. */
  get latest(): Point | undefined {
    return this.#points.at(-1)
  }

  /** Forgets every point. */
  clear(): void {
    this.#points = []
  }
}

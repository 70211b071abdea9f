import { describe, expect, it } from 'vitest'
import { TrendDetector, evidenceFor } from '../../src/trend/detector.js'
import { Series } from '../../src/trend/series.js'
import { theilSen } from '../../src/memory/theil-sen.js'
import { prng } from '../helpers/random.js'

// Synthetic series with a fixed-seed PRNG: each case is the shape of a real service's memory.
const MiB = 1024 * 1024
const MIN = 60_000

interface Shape {
  /** Live set after GC at time t (ms). */
  live(t: number): number
  external(t: number): number
  /** Working set at t (ms). */
  ws(t: number): number
  bounded?(t: number): number
}

interface Run {
  /** When a leak was first suspected (ms), or null. */
  suspectedAt: number | null
  verdictAtSuspicion: ReturnType<TrendDetector['verdict']> | null
  everSuspected: boolean
  last: ReturnType<TrendDetector['verdict']>
}

function simulate(
  shape: Shape,
  opts: { minutes: number; sampleMs?: number; gcMs?: number; limit: number | null; heapLimit?: number; seed?: number; noise?: number },
): Run {
  const rnd = prng(opts.seed ?? 7)
  const noise = opts.noise ?? 0.4 * MiB
  const d = new TrendDetector(15 * MIN)
  const sampleMs = opts.sampleMs ?? 5000
  const gcMs = opts.gcMs ?? 30_000
  let nextGc = gcMs * rnd()
  let run: Run = { suspectedAt: null, verdictAtSuspicion: null, everSuspected: false, last: d.verdict() }
  for (let t = 0; t <= opts.minutes * MIN; t += sampleMs) {
    if (t >= nextGc) {
      d.addLiveSet(t, shape.live(t) + noise * (rnd() - 0.5), shape.bounded?.(t) ?? 0)
      nextGc += gcMs * (0.7 + 0.6 * rnd())
    }
    const live = shape.live(t)
    d.addSample({
      t,
      heapTotal: live * 1.3,
      external: shape.external(t) + noise * 0.2 * (rnd() - 0.5),
      workingSet: shape.ws(t) + noise * (rnd() - 0.5),
      containerLimit: opts.limit,
      heapLimit: opts.heapLimit ?? 2048 * MiB,
    })
    const v = d.verdict()
    if (v.leakSuspected && run.suspectedAt === null) run = { ...run, suspectedAt: t, verdictAtSuspicion: v }
    if (v.leakSuspected) run.everSuspected = true
    run.last = v
  }
  return run
}

describe.each([7, 11, 42])('the trend detector never suspects a healthy service (seed %i)', (seed) => {
  it('a steady service with a sawtooth heap (GC every ~30 s, working set swinging 40 MB)', () => {
    const r = simulate(
      {
        live: () => 60 * MiB,
        external: () => 8 * MiB,
        ws: (t) => 140 * MiB + 40 * MiB * ((t % 45_000) / 45_000),
      },
      { minutes: 30, limit: 512 * MiB, seed },
    )
    expect(r.everSuspected).toBe(false)
    expect(r.last.secondsToLimit).toBeNull()
  })

  it("a warm-up that fills a bounded cache (50 MB over 3 min, then full): the cache's bytes are bounded, not a leak", () => {
    const cache = (t: number): number => Math.min(50 * MiB, (50 * MiB * t) / (3 * MIN))
    const r = simulate(
      { live: (t) => 60 * MiB + cache(t), external: () => 8 * MiB, ws: (t) => 150 * MiB + cache(t) * 1.2, bounded: cache },
      { minutes: 30, limit: 512 * MiB, seed },
    )
    expect(r.everSuspected).toBe(false)
  })

  it.each([2, 5, 12])('a step: one big allocation (80 MB at minute %i), then flat', (at) => {
    const step = (t: number): number => (t >= at * MIN ? 80 * MiB : 0)
    const r = simulate(
      { live: (t) => 60 * MiB + step(t), external: () => 8 * MiB, ws: (t) => 150 * MiB + step(t) * 1.2 },
      { minutes: 30, limit: 512 * MiB, seed },
    )
    expect(r.everSuspected).toBe(false)
  })
})

describe('the trend detector calls leaks, with evidence proportional to the risk', () => {
  it('a 1 MB/min leak in a 512 MiB container: suspected within 10 minutes, forecast within ±20% of the true time', () => {
    const rate = MiB / MIN
    const r = simulate({ live: (t) => 60 * MiB + rate * t, external: () => 8 * MiB, ws: (t) => 150 * MiB + rate * t * 1.05 }, { minutes: 15, limit: 512 * MiB })
    expect(r.suspectedAt).not.toBeNull()
    expect(r.suspectedAt!).toBeLessThanOrEqual(10 * MIN)
    const v = r.verdictAtSuspicion!
    expect(v.growing).toBe('heap')
    expect(v.limit).toBe('container')
    const t = r.suspectedAt!
    const trueSeconds = (512 * MiB - (150 * MiB + rate * t * 1.05)) / (rate * 1.05) / 1000
    expect(v.secondsToLimit!).toBeGreaterThan(trueSeconds * 0.8)
    expect(v.secondsToLimit!).toBeLessThan(trueSeconds * 1.2)
  })

  it('a leak that kills in about a minute (4 MB/s in 256 MiB, sampled every 500 ms) is called within seconds', () => {
    const rate = (4 * MiB) / 1000
    const r = simulate(
      { live: (t) => 40 * MiB + rate * t * 0.9, external: () => 4 * MiB, ws: (t) => 60 * MiB + rate * t },
      { minutes: 0.6, sampleMs: 500, gcMs: 1500, limit: 256 * MiB },
    )
    expect(r.suspectedAt).not.toBeNull()
    expect(r.suspectedAt!).toBeLessThanOrEqual(20_000)
    // Called before 70% of the limit.
    expect(60 * MiB + rate * r.suspectedAt!).toBeLessThan(0.7 * 256 * MiB)
  })

  it('a Buffer leak is blamed on external/array buffers', () => {
    const rate = (2 * MiB) / MIN
    const r = simulate({ live: () => 60 * MiB, external: (t) => 8 * MiB + rate * t, ws: (t) => 150 * MiB + rate * t }, { minutes: 15, limit: 512 * MiB })
    expect(r.suspectedAt).not.toBeNull()
    expect(r.last.growing).toBe('external')
    expect(r.last.signals.native.growing).toBe(false)
    expect(r.last.limit).toBe('container')
  })

  it('a native leak (working set grows, heap and buffers flat) is blamed on memory outside both', () => {
    const rate = (2 * MiB) / MIN
    const r = simulate({ live: () => 60 * MiB, external: () => 8 * MiB, ws: (t) => 150 * MiB + rate * t }, { minutes: 15, limit: 512 * MiB })
    expect(r.suspectedAt).not.toBeNull()
    expect(r.last.growing).toBe('native')
    expect(r.last.signals.heap.growing).toBe(false)
  })

  it("without a container limit, a heap leak is forecast against V8's heap limit", () => {
    const rate = (3 * MiB) / MIN
    const r = simulate(
      { live: (t) => 60 * MiB + rate * t, external: () => 8 * MiB, ws: (t) => 150 * MiB + rate * t },
      { minutes: 15, limit: null, heapLimit: 256 * MiB },
    )
    expect(r.last.leakSuspected).toBe(true)
    expect(r.last.limit).toBe('heap')
    const trueSeconds = (256 * MiB - (60 * MiB + rate * 15 * MIN)) / rate / 1000
    expect(r.last.secondsToLimit!).toBeGreaterThan(trueSeconds * 0.8)
    expect(r.last.secondsToLimit!).toBeLessThan(trueSeconds * 1.2)
  })
})

describe('building blocks', () => {
  it('Theil–Sen ignores a sawtooth that least squares would call growth', () => {
    // A sawtooth whose window ends just before a GC: least squares sees a rise, the median of slopes does not.
    const pts = Array.from({ length: 60 }, (_v, i) => ({ t: i * 1000, v: 100 + 40 * ((i % 10) / 10) }))
    const fit = theilSen(pts)!
    expect(Math.abs(fit.slopePerSecond)).toBeLessThan(1)
    expect(fit.positiveShare).toBeLessThan(0.7)
  })

  it('evidence shrinks with the time left: 10 s for a minute, 5 min for hours', () => {
    expect(evidenceFor(60)).toBe(10)
    expect(evidenceFor(1200)).toBe(120)
    expect(evidenceFor(36_000)).toBe(300)
    expect(evidenceFor(null)).toBe(300)
  })

  it('a series stays bounded and keeps its span by thinning the older half', () => {
    const s = new Series(50, 60 * MIN)
    for (let i = 0; i < 10_000; i++) s.push(i * 1000, i)
    expect(s.points.length).toBeLessThanOrEqual(50)
    // The window is an hour: the oldest point kept is inside it, and the points still span most of it.
    expect(s.points[0]!.t).toBeGreaterThanOrEqual(9_999_000 - 60 * MIN)
    expect(s.latest!.t - s.points[0]!.t).toBeGreaterThan(45 * MIN)
    expect(s.latest!.t).toBe(9_999_000)
  })
})

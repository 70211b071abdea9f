import { type Fit, theilSen } from '../memory/theil-sen.js'
import { Series } from './series.js'
import type { GrowingKind, LimitKind, SignalTrend, TrendSignalName } from './section.js'

/** Knobs of the detector, with the reasons for their values. */
export const TREND_RULES = Object.freeze({
  /** Points kept per signal (Theil–Sen is quadratic: 120 points are ~7k pairs, well under a ms). */
  maxPoints: 120,
  /** Fewest points for a verdict on a sampled signal. */
  minPoints: 6,
  /** Fewest for the heap signal, whose points are major GCs: each one is a clean reading of the live set, and they are rarer. */
  minHeapPoints: 4,
  /** Share of point pairs that must rise: ~0.5 is noise or a sawtooth, 1 a steady climb. */
  minPositiveShare: 0.7,
  /** Growth over the window must exceed this many times the residual noise (MAD). */
  noiseMultiple: 4,
  /** And this many bytes: less growth than that over the window (up to 15 min) is nothing to act on yet. */
  minGrowthBytes: 4 * 1024 * 1024,
  /** Both halves of the window must grow at least at this share of the whole window's rate: a step or a warm-up that levelled off fails. */
  minHalfRatio: 0.25,
  /** And rise within themselves: pairs inside a flat half rise only half the time. */
  minHalfPositiveShare: 0.6,
  /**
   * Major GCs the evidence must span: a heap that has not been collected has shown nothing yet
   * (the first tooth of a sawtooth looks like a leak). Without them the evidence must be the
   * longest (a native leak in an idle process may see no major GC for minutes).
   */
  minMajorGcs: 3,
  /** Evidence asked for: this share of the time left to the limit... */
  evidenceShareOfTimeLeft: 0.1,
  /** ...but at least this (a leak that kills in a minute is called within seconds)... */
  minEvidenceSeconds: 10,
  /** ...and at most this (a slow leak needs long evidence to be told apart from warm-up). */
  maxEvidenceSeconds: 300,
})

/** One sample's inputs. */
export interface TrendInput {
  readonly t: number
  readonly heapTotal: number
  readonly external: number
  /** The container's working set, or RSS without a memory cgroup. */
  readonly workingSet: number
  readonly containerLimit: number | null
  readonly heapLimit: number
}

/** What the detector concludes at one moment. */
export interface TrendVerdict {
  readonly signals: Readonly<Record<TrendSignalName, SignalTrend>>
  readonly leakSuspected: boolean
  readonly growing: GrowingKind | null
  readonly secondsToLimit: number | null
  readonly limit: LimitKind | null
  /** Each limit's forecast, where that limit's signal grows. */
  readonly forecasts: Readonly<Partial<Record<LimitKind, number>>>
  readonly evidenceSeconds: number
}

interface Assessed {
  readonly fit: Fit | null
  readonly trend: SignalTrend
}

/**
 * Whether each half of the window grows at a rate like the whole's: a step (flat, jump, flat) has
 * two flat halves under a steep overall line; a warm-up that levelled off has one.
 */
function halvesAgree(points: readonly { t: number; v: number }[], overallSlope: number): boolean {
  const mid = points.length >> 1
  for (const half of [points.slice(0, mid + 1), points.slice(mid)]) {
    const fit = theilSen(half)
    if (fit === null || fit.positiveShare < TREND_RULES.minHalfPositiveShare) return false
    if (fit.slopePerSecond < TREND_RULES.minHalfRatio * overallSlope) return false
  }
  return true
}

function assess(series: Series, minPoints: number = TREND_RULES.minPoints): Assessed {
  const points = series.points
  const fit = theilSen(points)
  const latestBytes = series.latest?.v ?? null
  if (fit === null) return { fit, trend: { bytesPerSecond: null, growing: false, points: points.length, spanSeconds: 0, latestBytes } }
  const growth = fit.slopePerSecond * fit.spanSeconds
  const growing =
    points.length >= minPoints &&
    fit.slopePerSecond > 0 &&
    fit.positiveShare >= TREND_RULES.minPositiveShare &&
    growth > Math.max(TREND_RULES.minGrowthBytes, TREND_RULES.noiseMultiple * fit.noise) &&
    halvesAgree(points, fit.slopePerSecond)
  return {
    fit,
    trend: { bytesPerSecond: Math.round(fit.slopePerSecond), growing, points: points.length, spanSeconds: Math.round(fit.spanSeconds), latestBytes },
  }
}

/** The evidence, in seconds of sustained growth, that a forecast of `secondsToLimit` asks for. */
export function evidenceFor(secondsToLimit: number | null): number {
  const r = TREND_RULES
  if (secondsToLimit === null) return r.maxEvidenceSeconds
  return Math.min(r.maxEvidenceSeconds, Math.max(r.minEvidenceSeconds, r.evidenceShareOfTimeLeft * secondsToLimit))
}

/**
 * The live-set trend: four signals, each a robust (Theil–Sen) growth estimate over a bounded
 * window, judged "growing" only when the growth is sustained and beyond noise, and a forecast of
 * the first limit the process will hit. Pure: fed with points, no timer, no clock of its own.
 *
 * - `heap`: heap used right after each major GC (the live set), less what bounded caches hold;
 * - `external`: memory of Buffers and ArrayBuffers outside the V8 heap;
 * - `native`: the working set less the V8 heap and external memory (native code's buffers,
 *   malloc fragmentation, thread stacks);
 * - `workingSet`: what the kernel charges (RSS without a cgroup), for the container forecast.
 */
export class TrendDetector {
  readonly #series: Record<TrendSignalName, Series>
  /** The heap's committed size: while it grows, working-set growth outside heap and buffers is the heap's pages being touched, not native memory. */
  readonly #committed: Series
  #last: TrendInput | null = null

  constructor(windowMs: number) {
    const s = (): Series => new Series(TREND_RULES.maxPoints, windowMs)
    this.#series = { heap: s(), external: s(), native: s(), workingSet: s() }
    this.#committed = s()
  }

  /** A major GC's live set (less the bytes bounded caches hold). */
  addLiveSet(t: number, liveBytes: number, boundedBytes = 0): void {
    this.#series.heap.push(t, Math.max(0, liveBytes - boundedBytes))
  }

  /** One sample. */
  addSample(input: TrendInput): void {
    this.#last = input
    this.#series.external.push(input.t, input.external)
    this.#series.workingSet.push(input.t, input.workingSet)
    this.#series.native.push(input.t, input.workingSet - input.heapTotal - input.external)
    this.#committed.push(input.t, input.heapTotal)
  }

  /** Forgets every point (at stop). */
  clear(): void {
    for (const s of Object.values(this.#series)) s.clear()
    this.#committed.clear()
  }

  /** The verdict now. */
  verdict(): TrendVerdict {
    const a = {
      heap: assess(this.#series.heap, TREND_RULES.minHeapPoints),
      external: assess(this.#series.external),
      native: assess(this.#series.native),
      workingSet: assess(this.#series.workingSet),
    }
    const committedGrows = assess(this.#committed).trend.growing
    const native = committedGrows || a.heap.trend.growing ? { ...a.native.trend, growing: false } : a.native.trend
    const signals = { heap: a.heap.trend, external: a.external.trend, native, workingSet: a.workingSet.trend }
    const forecasts: Partial<Record<LimitKind, number>> = {}
    const last = this.#last
    const ws = a.workingSet.trend
    if (last !== null && last.containerLimit !== null && ws.growing && ws.bytesPerSecond !== null && ws.latestBytes !== null) {
      forecasts.container = Math.max(0, Math.round((last.containerLimit - ws.latestBytes) / ws.bytesPerSecond))
    }
    const heap = a.heap.trend
    if (last !== null && heap.growing && heap.bytesPerSecond !== null && heap.latestBytes !== null) {
      forecasts.heap = Math.max(0, Math.round((last.heapLimit - heap.latestBytes) / heap.bytesPerSecond))
    }
    let limit: LimitKind | null = null
    for (const k of ['container', 'heap'] as const) {
      const f = forecasts[k]
      if (f !== undefined && (limit === null || f < (forecasts[limit] as number))) limit = k
    }
    const secondsToLimit = limit === null ? null : (forecasts[limit] as number)
    let growing: GrowingKind | null = null
    for (const k of ['heap', 'external', 'native'] as const) {
      const s = signals[k]
      if (s.growing && (growing === null || (s.bytesPerSecond ?? 0) > (signals[growing].bytesPerSecond ?? 0))) growing = k
    }
    const evidenceSeconds = Math.round(evidenceFor(secondsToLimit))
    let leakSuspected = false
    if (growing !== null) {
      const span = signals[growing].spanSeconds
      const since = (this.#series.workingSet.latest?.t ?? 0) - span * 1000
      const gcs = this.#series.heap.points.filter((p) => p.t >= since).length
      leakSuspected = span >= evidenceSeconds && (gcs >= TREND_RULES.minMajorGcs || span >= TREND_RULES.maxEvidenceSeconds)
    }
    return { signals, leakSuspected, growing, secondsToLimit, limit, forecasts, evidenceSeconds }
  }
}

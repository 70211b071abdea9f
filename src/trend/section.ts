import type { GrowthSite } from '../heap/profile/index.js'

/** The signals the trend follows, each a different kind of memory. */
export type TrendSignalName = 'heap' | 'external' | 'native' | 'workingSet'

/** Which kind of memory grows: the V8 live set (JS objects), external/array buffers, or native memory outside both. */
export type GrowingKind = 'heap' | 'external' | 'native'

/** The first limit the process will hit: the container's (SIGKILL, exit 137) or V8's heap limit ("JavaScript heap out of memory", exit 134). */
export type LimitKind = 'container' | 'heap'

/** One signal's robust growth estimate. */
export interface SignalTrend {
  /** Theil–Sen slope over the window, bytes/s; null with too few points. */
  readonly bytesPerSecond: number | null
  /** Whether it grows beyond noise, sustained (most point pairs rise, both halves of the window rise). */
  readonly growing: boolean
  /** Points in the window, and the seconds they span. */
  readonly points: number
  readonly spanSeconds: number
  /** Newest value, bytes (null when not measured: no cgroup for the working set). */
  readonly latestBytes: number | null
}

/** The report's `trend` section. */
export interface TrendSection {
  /** Growth of the V8 live set (heap used after major GCs), bytes/s; null until enough major GCs. */
  readonly growthBytesPerSecond: number | null
  /** Sustained growth beyond noise over enough major GCs and enough time for the risk (see the README). */
  readonly leakSuspected: boolean
  /** When the current suspicion was first raised, or null. */
  readonly suspectedSince: string | null
  /** The kind of memory that grows most, or null when none does. */
  readonly growing: GrowingKind | null
  /** Seconds until the first limit at the current growth, or null when not growing. */
  readonly secondsToLimit: number | null
  /** Which limit that is, or null when not growing. */
  readonly limit: LimitKind | null
  /** Each limit's own forecast in seconds, where the signal that fills it grows (the working set for the container, the live set for the heap). */
  readonly forecasts: Readonly<Partial<Record<LimitKind, number>>>
  /** Each signal's estimate. */
  readonly signals: Readonly<Record<TrendSignalName, SignalTrend>>
  /** The allocation sites whose live sampled bytes grow fastest (from the heap profile), while a leak is suspected or growth is seen. */
  readonly growingSites: readonly GrowthSite[]
  /** The evidence the detector asks for now, in seconds of sustained growth (shorter when the limit is near). */
  readonly evidenceSeconds: number
  /** Bytes held by bounded structures (caches below their bound) taken out of the heap signal. */
  readonly boundedBytes: number
  /** The watchdog: sampling fast (above `warnRatio`, or a limit under two minutes away), and at what interval. */
  readonly watchdog: { readonly fast: boolean; readonly intervalMs: number }
}

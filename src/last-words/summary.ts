import type { GrowthSite, TopSite } from '../heap/profile/index.js'
import type { Sample } from '../memory/sampler.js'
import { type Point, theilSen } from '../memory/theil-sen.js'
import type { TrendSection } from '../trend/section.js'

/** What set off a capture: the working set crossing `criticalRatio`, or V8's old generation nearing its limit. */
export type CaptureTrigger = 'critical' | 'heap-near'

/** What a process died of, or is about to: the container's limit (SIGKILL) or V8's heap limit (abort). */
export type CrashCause = 'container' | 'heap' | 'unknown'

/** Growth rates at the time of a capture, bytes per second (null when unknown). */
export interface Growth {
  readonly workingSetBytesPerSecond: number | null
  readonly liveSetBytesPerSecond: number | null
  /** `trend`: the trend capability's estimate; `history`: Theil–Sen over the report's history. */
  readonly source: 'trend' | 'history'
}

/** The heap at a capture. */
export interface HeapFacts {
  readonly usedBytes: number
  readonly liveAfterGcBytes: number | null
  readonly heapSizeLimitBytes: number
  /** V8's old generation (every space but the young one) and its limit (`--max-old-space-size`, else `heap_size_limit`). */
  readonly oldGenerationUsedBytes: number
  readonly oldGenerationLimitBytes: number
}

/** `<time>-<pid>-summary.json`: the first file a capture writes, and what the restart reads. */
export interface LastWordsSummary {
  readonly kind: 'oomkit-last-words'
  readonly version: 1
  readonly at: string
  readonly atMs: number
  readonly trigger: CaptureTrigger
  readonly cause: 'container' | 'heap'
  /** The run that wrote it: its pid and when oomkit started in it (the run marker's name). */
  readonly run: { readonly pid: number; readonly startedAt: number }
  readonly workingSetBytes: number | null
  readonly limitBytes: number | null
  readonly utilization: number | null
  /** The cgroup's `oom_kill` count at the capture. */
  readonly oomKills: number | null
  readonly heap: HeapFacts
  readonly growth: Growth
  /** Sites whose live sampled bytes grow, fastest first (empty before the profile has a window). */
  readonly growingSites: readonly GrowthSite[]
  /** The top allocation sites of the newest profile. */
  readonly topSites: readonly TopSite[]
  /** The files of this capture, by kind (names in the same directory; some may not have been written). */
  readonly files: Readonly<Record<string, string>>
}

/** `<time>-<pid>-sites.json`: the growing sites after a fresh profile, with the trend. */
export interface LastWordsSites {
  readonly kind: 'oomkit-last-words-sites'
  readonly at: string
  readonly growingSites: readonly GrowthSite[]
  readonly windowSeconds: number
  readonly topSites: readonly TopSite[]
  readonly trend: TrendSection | null
}

/** The report's trend section when the trend capability provides one (it may be off, or not built). */
export function trendOf(report: { readonly trend?: unknown }): TrendSection | null {
  const t = report.trend
  return t !== null && typeof t === 'object' && 'growthBytesPerSecond' in t && 'signals' in t ? (t as TrendSection) : null
}

function slope(points: Point[]): number | null {
  const fit = theilSen(points)
  return fit === null ? null : Math.round(fit.slopePerSecond)
}

/** Robust growth of the working set and the live set over the history (at most a few hundred samples). */
export function historyGrowth(history: readonly Sample[]): Growth {
  const ws: Point[] = []
  const live: Point[] = []
  for (const s of history) {
    if (s.workingSet !== null) ws.push({ t: s.t, v: s.workingSet })
    if (s.liveAfterGc !== null) live.push({ t: s.t, v: s.liveAfterGc })
  }
  return { workingSetBytesPerSecond: slope(ws), liveSetBytesPerSecond: slope(live), source: 'history' }
}

/** The trend's estimates where it has them, the history's otherwise. */
export function growthOf(trend: TrendSection | null, history: readonly Sample[]): Growth {
  const own = historyGrowth(history)
  if (trend === null) return own
  const ws = trend.signals.workingSet.bytesPerSecond
  const live = trend.growthBytesPerSecond
  if (ws === null && live === null) return own
  return { workingSetBytesPerSecond: ws ?? own.workingSetBytesPerSecond, liveSetBytesPerSecond: live ?? own.liveSetBytesPerSecond, source: 'trend' }
}

/** Bytes as a short human figure for messages: `243.2 MiB`. */
export function mib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? 'unknown' : `${(bytes / 1048576).toFixed(1)} MiB`
}

/** A rate for messages: `4.0 MB/s` (decimal, as rates are usually read). */
export function rate(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond === null || bytesPerSecond === undefined ? 'unknown' : `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`
}

/** `growing 0.05 MB/s`, or `growth unknown` when there was no trend to tell. */
export function growingPhrase(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond === null || bytesPerSecond === undefined ? 'growth unknown' : `growing ${rate(bytesPerSecond)}`
}

/** A site for messages: `leakyHandler (/app/server.js:12)`. */
export function siteName(s: { readonly function: string; readonly file: string; readonly line: number }): string {
  return s.file === '' ? s.function : `${s.function} (${s.file}:${s.line})`
}

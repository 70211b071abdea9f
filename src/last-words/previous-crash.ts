import { type GrowthSite, INTERNALS_ROW, type TopSite } from '../heap/profile/index.js'
import { type Point, theilSen } from '../memory/theil-sen.js'
import type { RunEvidence } from './evidence.js'
import { isHeapOutOfMemory } from './fatal-report.js'
import { type CrashCause, type Growth, growingPhrase, mib, rate, siteName } from './summary.js'

/**
 * The previous crash: which of a dead run's traces say what it died of. The exit code cannot
 * (134, 137 and 139 are all seen for both kinds of death), the evidence can, strongest first:
 * Node's fatal-error report says V8 ran out of heap; the cgroup's `oom_kill` count rising past
 * what the run last recorded says the kernel killed it; then the run's own last words (which
 * limit was near) and the last utilization it wrote.
 */

/** The report's `previousCrash` section. */
export interface PreviousCrash {
  /** `container`: killed at the container's memory limit; `heap`: V8's heap ran out; `unknown`: a fatal error of another kind. */
  readonly cause: CrashCause
  readonly pid: number
  /** When oomkit started in that run. */
  readonly startedAt: string
  /** When it died: the fatal-error report's time, else the last sign of life (a capture or a marker update, every 5 s). */
  readonly diedAt: string
  readonly diedAtBasis: 'fatal-report' | 'last-seen'
  readonly workingSetBytes: number | null
  readonly limitBytes: number | null
  readonly utilization: number | null
  /** V8's old generation and its limit at the newest capture (or heap used and the limit from the marker). */
  readonly heapUsedBytes: number | null
  readonly heapLimitBytes: number | null
  /** The growth that matters for the cause: the working set's for the container, the live set's for the heap. */
  readonly growthBytesPerSecond: number | null
  readonly growth: Omit<Growth, 'source'>
  /** The sites that grew, fastest first (top 5), from its last words. */
  readonly growingSites: readonly GrowthSite[]
  /** The top allocation sites of its newest profile (top 5). */
  readonly topSites: readonly TopSite[]
  /** The cgroup's `oom_kill` count as the run last recorded it, and now (null where not comparable). */
  readonly oomKills: { readonly recorded: number | null; readonly now: number | null }
  /** Node's fatal-error report of that process, if it wrote one. */
  readonly fatalReport: { readonly file: string; readonly event: string; readonly trigger: string } | null
  /** Last-words captures the run wrote. */
  readonly lastWords: number
  /** The facts the cause was decided from, as sentences. */
  readonly evidence: readonly string[]
  /** The last-words directory, and the files of the newest capture there (plus the fatal report). */
  readonly dir: string
  readonly files: readonly string[]
}

/** The cgroup now, to compare its `oom_kill` count with the dead run's. */
export interface ContainerNow {
  readonly cgroupPath: string | null
  readonly oomKills: number | null
}

function maxOf(values: readonly (number | null | undefined)[]): number | null {
  const known = values.filter((v): v is number => typeof v === 'number')
  return known.length === 0 ? null : Math.max(...known)
}

function slope(points: readonly Point[]): number | null {
  const fit = theilSen(points)
  return fit === null ? null : Math.round(fit.slopePerSecond)
}

/**
 * Decides what a dead run died of, or returns null when nothing says it was memory (a SIGTERM or
 * SIGINT without a handler also skips the clean exit: that is no crash to alert on).
 */
export function decideCrash(run: RunEvidence, now: ContainerNow, criticalRatio: number, dir: string): PreviousCrash | null {
  const { marker, fatalReport } = run
  const newest = run.lastWords.at(-1)
  const sample = marker.lastSample
  const evidence: string[] = []
  // Counts only rise within one cgroup; a new container (new cgroup, count back to 0) can't be compared.
  const recorded = maxOf([marker.oomKillsAtStart, sample?.oomKills, ...run.lastWords.map((s) => s.oomKills)])
  const comparable =
    marker.cgroupPath !== null && marker.cgroupPath === now.cgroupPath && recorded !== null && now.oomKills !== null && now.oomKills >= recorded
  const oomRose = comparable && (now.oomKills as number) > (recorded as number)
  const useSummary = newest !== undefined && (sample === null || newest.atMs >= sample.at)
  const utilization = useSummary ? newest.utilization : (sample?.utilization ?? null)

  if (fatalReport !== null) evidence.push(`Node's fatal-error report ${fatalReport.file}: ${fatalReport.event} (trigger ${fatalReport.trigger})`)
  if (comparable)
    evidence.push(oomRose ? `the cgroup's oom_kill count rose from ${recorded} to ${now.oomKills}` : `the cgroup's oom_kill count stayed at ${recorded}`)
  if (newest !== undefined) {
    evidence.push(
      newest.trigger === 'critical'
        ? `last words at ${newest.at}: working set ${mib(newest.workingSetBytes)} of the ${mib(newest.limitBytes)} limit`
        : `last words at ${newest.at}: V8 old generation ${mib(newest.heap.oldGenerationUsedBytes)} of its ${mib(newest.heap.oldGenerationLimitBytes)} limit`,
    )
  }
  if (utilization !== null) evidence.push(`last utilization written: ${utilization.toFixed(3)}`)

  let cause: CrashCause | null = null
  if (fatalReport !== null && isHeapOutOfMemory(fatalReport)) cause = 'heap'
  else if (oomRose) cause = 'container'
  else if (newest !== undefined) cause = newest.cause
  else if (utilization !== null && utilization >= criticalRatio) cause = 'container'
  else if (fatalReport !== null) cause = 'unknown'
  if (cause === null) return null

  const lastSeen = Math.max(run.markerWrittenAt, sample?.at ?? 0, newest?.atMs ?? 0)
  const growth = newest?.growth ?? {
    workingSetBytesPerSecond: slope(marker.points.flatMap(([t, ws]) => (ws === null ? [] : [{ t, v: ws }]))),
    liveSetBytesPerSecond: slope(marker.points.flatMap(([t, , live]) => (live === null ? [] : [{ t, v: live }]))),
  }
  const growing = run.sites !== null && run.sites.growingSites.length > 0 ? run.sites.growingSites : (newest?.growingSites ?? [])
  return {
    cause,
    pid: marker.pid,
    startedAt: new Date(marker.startedAt).toISOString(),
    diedAt: new Date(fatalReport?.at ?? lastSeen).toISOString(),
    diedAtBasis: fatalReport !== null ? 'fatal-report' : 'last-seen',
    workingSetBytes: useSummary ? newest.workingSetBytes : (sample?.workingSetBytes ?? null),
    limitBytes: useSummary ? newest.limitBytes : (sample?.limitBytes ?? null),
    utilization,
    heapUsedBytes: newest?.heap.oldGenerationUsedBytes ?? sample?.heapUsedBytes ?? null,
    heapLimitBytes: newest?.heap.oldGenerationLimitBytes ?? marker.oldGenerationLimitBytes,
    growthBytesPerSecond: cause === 'heap' ? growth.liveSetBytesPerSecond : (growth.workingSetBytesPerSecond ?? growth.liveSetBytesPerSecond),
    growth: { workingSetBytesPerSecond: growth.workingSetBytesPerSecond, liveSetBytesPerSecond: growth.liveSetBytesPerSecond },
    growingSites: growing.slice(0, 5),
    topSites: (run.sites?.topSites ?? newest?.topSites ?? []).slice(0, 5),
    oomKills: { recorded: comparable ? recorded : null, now: comparable ? now.oomKills : null },
    fatalReport: fatalReport === null ? null : { file: fatalReport.file, event: fatalReport.event, trigger: fatalReport.trigger },
    lastWords: run.lastWords.length,
    evidence,
    dir,
    files: run.files,
  }
}

const CAUSES: Readonly<Record<CrashCause, string>> = {
  container: 'was killed at the container memory limit (OOM kill)',
  heap: 'ran out of V8 heap (JavaScript heap out of memory)',
  unknown: 'died of a fatal error',
}

/** The one `warn` line's message. */
export function crashMessage(c: PreviousCrash): string {
  const growing = c.growingSites.filter((s) => s.function !== INTERNALS_ROW)
  const sites =
    growing.length > 0
      ? `top growing sites: ${growing
          .slice(0, 3)
          .map((s) => `${siteName(s)} +${rate(s.growthBytesPerSecond)}`)
          .join(', ')}`
      : c.topSites.length > 0
        ? `top allocation sites: ${c.topSites
            .slice(0, 3)
            .map((s) => `${siteName(s)} ${mib(s.bytes)}`)
            .join(', ')}`
        : 'no allocation sites recorded'
  const when = c.diedAtBasis === 'fatal-report' ? `at ${c.diedAt}` : `after ${c.diedAt} (last seen)`
  const container = `working set ${mib(c.workingSetBytes)} of ${c.limitBytes === null ? 'no limit' : mib(c.limitBytes)}`
  const heap = c.cause === 'heap' ? `V8 old generation ${mib(c.heapUsedBytes)} of ${mib(c.heapLimitBytes)}, ${container}` : container
  return `oomkit: the previous instance (pid ${c.pid}, started ${c.startedAt}) ${CAUSES[c.cause]} ${when}: ${heap}, ${growingPhrase(c.growthBytesPerSecond)}; ${sites}; files in ${c.dir}`
}

import { writeSync } from 'node:fs'
import { hostname } from 'node:os'
import type { CapabilityContext, SharedServices } from '../capability.js'
import { utilization } from '../container/index.js'
import { INTERNALS_ROW } from '../heap/profile/index.js'
import { type OomkitLogger, flushLogger } from '../logging/logger.js'
import { type Bounds, capturePrefix, enforceBounds, lastWordsFileName, writePrivateFile } from './files.js'
import { type HeapNearness, heapNearness } from './heap-limit.js'
import { redactedNodeReport } from './node-report.js'
import { type CaptureTrigger, type LastWordsSites, type LastWordsSummary, growthOf, historyGrowth, growingPhrase, mib, siteName, trendOf } from './summary.js'

/** How many captures a process has written: shared by every instance, as the bound is per process. */
export interface CaptureBudget {
  used: number
}

/** The process's own budget. */
export const PROCESS_CAPTURES: CaptureBudget = { used: 0 }

/** What a capture needs of the kit. */
export interface CaptureDeps {
  readonly logger: OomkitLogger
  readonly memory: CapabilityContext<unknown>['memory']
  readonly report: CapabilityContext<unknown>['report']
  readonly shared: Partial<SharedServices>
  readonly maxCaptures: number
  readonly bounds: Bounds
  /** The run this process is: its pid and when oomkit started. */
  readonly run: { readonly pid: number; readonly startedAt: number }
  /** `--max-old-space-size` in bytes, or null. */
  readonly oldSpaceFlagBytes: number | null
  readonly budget?: CaptureBudget
  readonly now?: () => number
  /** Writes the synchronous line. @default `fs.writeSync(2, line)` */
  readonly writeLine?: (line: string) => void
  /** Told after the summary is on disk (the run marker counts it). */
  readonly onCaptured?: (at: number) => void
}

/** What one capture wrote. */
export interface CaptureResult {
  readonly at: number
  readonly trigger: CaptureTrigger
  readonly line: Record<string, unknown>
  /** Absolute paths written synchronously (summary, report, node report). */
  readonly files: readonly string[]
  /** Settles once the heap profile and the growing sites are written too (never rejects). */
  readonly done: Promise<readonly string[]>
}

const writeStderr = (line: string): void => {
  writeSync(2, line)
}

/**
 * Last words. On a trigger: first one JSON line written synchronously to stderr (a `write(2)` in
 * the call: it survives a SIGKILL a moment later whatever the app's logger buffers), then the same
 * through the logger at `error`, flushed (at a critical crossing the core's own error line, already
 * flushed, is that line); then, into the directory, synchronously and smallest
 * first: the summary, the memory report, Node's diagnostic report; then, once a fresh profile is
 * read, the growing sites and the heap profile. Never a heap snapshot: that is what kills pods.
 */
export class LastWordsCapture {
  readonly #deps: CaptureDeps
  readonly #budget: CaptureBudget
  readonly #now: () => number
  #lastAt = 0
  #pending: Promise<unknown> = Promise.resolve()

  constructor(
    deps: CaptureDeps,
    /** The last-words directory, or null when it is unusable (the line is still written). */
    private readonly dir: () => string | null,
  ) {
    this.#deps = deps
    this.#budget = deps.budget ?? PROCESS_CAPTURES
    this.#now = deps.now ?? Date.now
  }

  /** Whether the per-process bound still allows a capture. */
  get available(): boolean {
    return this.#budget.used < this.#deps.maxCaptures
  }

  /** Settles when every capture's late part is written. */
  settled(): Promise<unknown> {
    return this.#pending
  }

  /** Captures now, or returns null when the bound is reached. Never throws. */
  capture(trigger: CaptureTrigger, nearness?: HeapNearness): CaptureResult | null {
    if (!this.available) return null
    this.#budget.used++
    const d = this.#deps
    // Two triggers in one millisecond must not collide on file names.
    const at = Math.max(this.#now(), this.#lastAt + 1)
    this.#lastAt = at
    const reading = d.memory.read()
    const c = reading.container
    const near = nearness ?? heapNearness(reading.v8.spaces, reading.v8.heapSizeLimit, d.oldSpaceFlagBytes)
    const cause = trigger === 'critical' ? 'container' : 'heap'
    const early = historyGrowth(d.memory.history())
    const growing = safe(() => d.shared.heapProfile?.growingSites(10), undefined) ?? []
    const dir = this.dir()
    const fields = {
      lastWords: true,
      trigger,
      cause,
      workingSet: c?.workingSetBytes ?? null,
      limit: c?.limitBytes ?? null,
      utilization: utilization(c),
      oomKills: c?.oomKills ?? null,
      heapUsed: reading.v8.usedHeapSize,
      liveAfterGc: d.memory.gc.liveAfterGcBytes,
      heapLimit: reading.v8.heapSizeLimit,
      oldGenerationUsed: near.usedBytes,
      oldGenerationLimit: near.limitBytes,
      workingSetGrowthBytesPerSecond: early.workingSetBytesPerSecond,
      liveSetGrowthBytesPerSecond: early.liveSetBytesPerSecond,
      growingSites: growing
        .filter((s) => s.function !== INTERNALS_ROW)
        .slice(0, 3)
        .map(siteName),
      dir,
    }
    const what =
      trigger === 'critical'
        ? `working set ${mib(fields.workingSet)} of the ${mib(fields.limit)} container limit`
        : `V8 old generation ${mib(near.usedBytes)} of its ${mib(near.limitBytes)} limit`
    const msg =
      `oomkit last words: ${what}, ${growingPhrase(cause === 'container' ? early.workingSetBytesPerSecond : early.liveSetBytesPerSecond)}` +
      (dir === null ? '; no files (the last-words directory is unusable)' : `; files in ${dir}`)
    const line = { level: 50, time: at, pid: process.pid, hostname: hostname(), name: 'oomkit', ...fields, msg }
    safe(() => (d.writeLine ?? writeStderr)(`${JSON.stringify(line)}\n`), undefined)
    // At a critical crossing the core has just logged (and flushed) its error line: one per episode.
    if (trigger !== 'critical') {
      safe(() => {
        d.logger.error(fields, msg)
        flushLogger(d.logger)
      }, undefined)
    }
    if (dir === null) return { at, trigger, line, files: [], done: Promise.resolve([]) }

    const pid = process.pid
    const names = {
      report: lastWordsFileName(at, pid, 'report'),
      nodeReport: lastWordsFileName(at, pid, 'node-report'),
      sites: lastWordsFileName(at, pid, 'sites'),
      heap: lastWordsFileName(at, pid, 'heap'),
    }
    const summaryName = lastWordsFileName(at, pid, 'summary')
    const files: string[] = []
    const report = safe(() => d.report(), null)
    const trend = report === null ? null : trendOf(report)
    const topSites = report?.profile?.topSites ?? []
    const summary: LastWordsSummary = {
      kind: 'oomkit-last-words',
      version: 1,
      at: new Date(at).toISOString(),
      atMs: at,
      trigger,
      cause,
      run: d.run,
      workingSetBytes: fields.workingSet,
      limitBytes: fields.limit,
      utilization: fields.utilization,
      oomKills: fields.oomKills,
      heap: {
        usedBytes: fields.heapUsed,
        liveAfterGcBytes: fields.liveAfterGc,
        heapSizeLimitBytes: fields.heapLimit,
        oldGenerationUsedBytes: near.usedBytes,
        oldGenerationLimitBytes: near.limitBytes,
      },
      growth: growthOf(trend, d.memory.history()),
      growingSites: growing,
      topSites: topSites.slice(0, 10),
      files: names,
    }
    this.#write(dir, summaryName, () => JSON.stringify(summary), files)
    safe(() => d.onCaptured?.(at), undefined)
    if (report !== null) this.#write(dir, names.report, () => JSON.stringify(report), files)
    this.#write(dir, names.nodeReport, redactedNodeReport, files)
    this.#prune(dir, summaryName)
    const late = this.#late(dir, at, names, summaryName, { topSites: summary.topSites, trend }, files).catch(() => files)
    this.#pending = Promise.all([this.#pending, late])
    return { at, trigger, line, files, done: late }
  }

  /** The part that waits for a fresh profile: the growing sites after recording it, and the pprof. */
  async #late(
    dir: string,
    at: number,
    names: { sites: string; heap: string },
    keep: string,
    known: Pick<LastWordsSites, 'topSites' | 'trend'>,
    early: readonly string[],
  ): Promise<readonly string[]> {
    const files = [...early]
    const p = this.#deps.shared.heapProfile
    const heapProfile = p !== undefined && p.running ? p : null
    await heapProfile?.recordGrowth(at).catch(() => undefined)
    const sites: LastWordsSites = {
      kind: 'oomkit-last-words-sites',
      at: new Date(at).toISOString(),
      growingSites: heapProfile === null ? [] : safe(() => heapProfile.growingSites(20), []),
      windowSeconds: heapProfile?.growthWindowSeconds ?? 0,
      ...known,
    }
    this.#write(dir, names.sites, () => JSON.stringify(sites), files)
    const pprof = heapProfile === null ? null : await heapProfile.pprof().catch(() => null)
    if (pprof !== null) this.#write(dir, names.heap, () => pprof, files)
    this.#prune(dir, keep)
    safe(() => this.#deps.logger.info({ lastWords: true, files }, 'oomkit last words written'), undefined)
    return files
  }

  #write(dir: string, name: string, data: () => string | Uint8Array, files: string[]): void {
    try {
      files.push(writePrivateFile(dir, name, data()))
    } catch (err) {
      safe(() => this.#deps.logger.warn({ err, lastWords: true, file: name }, 'oomkit could not write a last-words file'), undefined)
    }
  }

  #prune(dir: string, keepSummary: string): void {
    const removed = safe(() => enforceBounds(dir, this.#deps.bounds, new Set([keepSummary])), [])
    if (removed.length > 0)
      safe(() => this.#deps.logger.debug({ removed, prefix: capturePrefix(keepSummary) }, 'oomkit removed the oldest last-words files'), undefined)
  }
}

/** Runs `fn`; a throw gives `fallback` (nothing in last words may reach the app). */
function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}

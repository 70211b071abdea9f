import { type Capability, type CapabilityContext, defineCapability } from '../capability.js'
import { ensurePrivateDir, isOnTmpfs, privateDirReason } from '../diagnostics/private-dir.js'
import { utilization } from '../container/index.js'
import type { Reading } from '../memory/sampler.js'
import type { MemoryFields } from '../memory/threshold.js'
import { readV8 } from '../memory/v8.js'
import { type Collector, defineCollector } from '../metrics/collector.js'
import { LastWordsCapture } from './capture.js'
import { gatherDeadRuns } from './evidence.js'
import { armFatalReport, disarmFatalReport } from './fatal-report.js'
import { LAST_WORDS_SUBDIR } from './files.js'
import { heapNearness, maxOldSpaceFlagBytes, oldGenerationLimit } from './heap-limit.js'
import { RunMarkerFile } from './marker.js'
import { type LastWordsOptions, type ResolvedLastWordsOptions, LAST_WORDS_DEFAULTS, resolveLastWords } from './options.js'
import { type PreviousCrash, crashMessage, decideCrash } from './previous-crash.js'

declare module '../capability.js' {
  interface CapabilityOptions {
    /** Last words before an OOM, and the restart's report of the previous crash; false turns both off. @default { maxCaptures: 3, maxFiles: 20, maxBytes: 67108864, heapNearRatio: 0.9 } */
    lastWords?: LastWordsOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly lastWords: ResolvedLastWordsOptions | false
  }
  interface ReportSections {
    /** What the previous instance died of, when it left last words or a fatal-error report and did not stop cleanly; null otherwise, and when `lastWords: false`. */
    previousCrash: PreviousCrash | null
  }
}

/** Once V8 has been near its limit, the old generation must fall this far below the ratio before another heap-near capture. */
export const HEAP_NEAR_HYSTERESIS = 0.05

/** `oomkit_previous_crash_info{cause}`: 1 while this instance runs after a crash, absent otherwise. */
export function previousCrashCollector(crash: () => PreviousCrash | null): Collector<PreviousCrash | null> {
  return defineCollector({
    name: 'last-words',
    read: crash,
    families: [
      {
        name: 'previous_crash_info',
        type: 'gauge',
        help: 'The previous instance died of memory (cause: container, heap or unknown): 1 for the life of this instance, absent after a clean stop.',
        values: (c) => (c === null ? [] : [{ value: 1, labels: { cause: c.cause } }]),
      },
    ],
  })
}

function lastWords(ctx: CapabilityContext<ResolvedLastWordsOptions>): Capability<PreviousCrash | null> {
  const { options, core, logger, memory, events } = ctx
  const flagBytes = maxOldSpaceFlagBytes()
  let dir: string | null = null
  let marker: RunMarkerFile | null = null
  let previous: PreviousCrash | null = null
  let fatalClaimed = false
  let heapNearArmed = true
  let startedAt = 0
  const capture = new LastWordsCapture(
    {
      logger,
      memory,
      report: ctx.report,
      shared: ctx.shared,
      maxCaptures: options.maxCaptures,
      bounds: options,
      get run() {
        return { pid: process.pid, startedAt }
      },
      oldSpaceFlagBytes: flagBytes,
      onCaptured: (at) => marker?.captured(at),
    },
    () => dir,
  )
  const onCritical = (_fields: MemoryFields): void => void capture.capture('critical')
  // Subscribed now, not at start: before any listener of the app, whenever the app subscribes
  // (one that exits or kills the process on 'critical' must not cut the last words short).
  events.on('critical', onCritical)
  const record = (reading: Reading, force: boolean): void => {
    const c = reading.container
    marker?.record(
      {
        at: reading.t,
        workingSetBytes: c?.workingSetBytes ?? null,
        limitBytes: c?.limitBytes ?? null,
        utilization: utilization(c),
        heapUsedBytes: reading.process.heapUsed,
        liveAfterGcBytes: memory.gc.liveAfterGcBytes,
        oomKills: c?.oomKills ?? null,
      },
      force,
    )
  }

  function readPrevious(lastWordsDir: string, reportDirs: string[]): void {
    const container = memory.readContainer()
    const self = { pid: process.pid, processStartedAt: performance.timeOrigin }
    const runs = gatherDeadRuns({ dir: lastWordsDir, reportDirs, procRoot: core.procRoot, self })
    const crashes = runs
      .map((run) => decideCrash(run, { cgroupPath: container?.cgroupPath ?? null, oomKills: container?.oomKills ?? null }, core.criticalRatio, lastWordsDir))
      .filter((c): c is PreviousCrash => c !== null)
      .sort((a, b) => Date.parse(b.diedAt) - Date.parse(a.diedAt))
    previous = crashes[0] ?? null
    if (previous !== null) logger.warn({ previousCrash: previous, uncleanRuns: runs.length }, crashMessage(previous))
    else if (runs.length > 0) {
      logger.info(
        { uncleanRuns: runs.map((r) => ({ pid: r.marker.pid, startedAt: new Date(r.marker.startedAt).toISOString() })) },
        'oomkit: the previous instance did not stop cleanly, with no sign of a memory death (a SIGTERM or SIGINT without a handler ends a process so too)',
      )
    }
  }

  return {
    collectors: [previousCrashCollector(() => previous)],
    start() {
      startedAt = Date.now()
      try {
        dir = ensurePrivateDir(core.diagnosticsDir, LAST_WORDS_SUBDIR)
      } catch (err) {
        logger.warn({ err, dir: core.diagnosticsDir }, `oomkit last words write no files: ${privateDirReason(err)}; the synchronous line is still written`)
      }
      if (dir === null) return
      const arming = armFatalReport(dir)
      fatalClaimed = arming.claimed
      readPrevious(dir, [...new Set([dir, ...(arming.dir === null ? [] : [arming.dir])])])
      const reading = memory.latest()
      const c = reading.container
      marker = new RunMarkerFile(dir, {
        version: 1,
        pid: process.pid,
        startedAt,
        processStartedAt: performance.timeOrigin,
        cgroupPath: c?.cgroupPath ?? null,
        oomKillsAtStart: c?.oomKills ?? null,
        heapSizeLimitBytes: reading.v8.heapSizeLimit,
        oldGenerationLimitBytes: oldGenerationLimit(reading.v8.heapSizeLimit, flagBytes),
        lastSample: null,
        points: [],
        captures: 0,
      })
      try {
        marker.create(startedAt)
        record(reading, true)
      } catch (err) {
        marker = null
        logger.warn({ err, dir }, 'oomkit could not write its run marker: the next start will not know whether this run ended cleanly')
      }
      logger.info({ dir, fatalReports: arming.dir, onTmpfs: isOnTmpfs(dir), maxCaptures: options.maxCaptures }, 'oomkit last words armed')
    },
    onSample: (reading) => record(reading, false),
    onMajorGc() {
      if (!capture.available) return
      const v8 = readV8()
      const near = heapNearness(v8.spaces, v8.heapSizeLimit, flagBytes)
      if (near.ratio < options.heapNearRatio - HEAP_NEAR_HYSTERESIS) heapNearArmed = true
      else if (heapNearArmed && near.ratio >= options.heapNearRatio) {
        heapNearArmed = false
        capture.capture('heap-near', near)
      }
    },
    async stop() {
      events.off('critical', onCritical)
      await capture.settled()
      marker?.remove()
      marker = null
      if (fatalClaimed) disarmFatalReport()
      fatalClaimed = false
    },
    section: () => previous,
  }
}

/**
 * Last words and the previous crash: a synchronous line and files in `<diagnosticsDir>/last-words`
 * when the working set crosses `criticalRatio` or V8's heap nears its limit, Node's fatal-error
 * report into the same place, and at start the report of a previous run that died of memory
 * (one `warn` line, the `previousCrash` section, `oomkit_previous_crash_info`).
 */
export const lastWordsCapability = defineCapability({
  name: 'last-words',
  option: 'lastWords',
  defaults: LAST_WORDS_DEFAULTS,
  resolve: resolveLastWords,
  section: 'previousCrash',
  create(ctx): Capability<PreviousCrash | null> {
    const { options } = ctx
    if (options === false) return { section: () => null }
    return lastWords({ ...ctx, options })
  },
})

import { type Capability, defineCapability } from '../capability.js'
import type { GrowthSite } from '../heap/profile/index.js'
import { trendCollector } from './collector.js'
import { TrendDetector, type TrendVerdict } from './detector.js'
import { type ResolvedTrendOptions, TREND_DEFAULTS, type TrendOptions, resolveTrend } from './options.js'
import type { TrendSection } from './section.js'
import { duration, trendSentence } from './words.js'

declare module '../capability.js' {
  interface CapabilityOptions {
    /** The live-set trend, time-to-limit forecast and leak suspicion, or false to turn them off. @default { windowMs: 900000 } */
    trend?: TrendOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly trend: ResolvedTrendOptions | false
  }
  interface ReportSections {
    /** Growth per signal, leak suspicion, forecast and the growing sites; null when `trend: false`. */
    trend: TrendSection | null
  }
  interface SharedServices {
    /** Bytes held by bounded structures (caches below their bound): growth there is not a leak. */
    boundedMemory: { boundedBytes(): number }
  }
}

declare module '../events.js' {
  interface OomkitEvents {
    /** A leak is suspected (once per episode), with the trend at that moment. */
    leak: [trend: TrendSection]
  }
}

/** The forecast under which the watchdog samples fast: a limit two minutes away. */
export const FAST_FORECAST_SECONDS = 120

/** How often the verdict is recomputed at most (fast sampling feeds points twice a second). */
const VERDICT_EVERY_MS = 1000

/**
 * The live-set trend and leak detector: see the leak while the pod lives, say when it will die and
 * of what. Fed by the kit's samples and the GC observer; the verdict is cached for a second.
 */
export const trendCapability = defineCapability({
  name: 'trend',
  option: 'trend',
  defaults: TREND_DEFAULTS,
  resolve: resolveTrend,
  section: 'trend',
  create({ options, logger, events, sampling, shared }): Capability<TrendSection | null> {
    if (options === false) return { section: () => null }
    const detector = new TrendDetector(options.windowMs)
    let verdict: TrendVerdict = detector.verdict()
    let verdictAt = Number.NEGATIVE_INFINITY
    let suspectedSince: number | null = null
    let boundedBytes = 0
    let containerLimit: number | null = null

    const growingSites = (): readonly GrowthSite[] => (verdict.growing === 'heap' ? (shared.heapProfile?.growingSites(10) ?? []) : [])
    const section = (): TrendSection => ({
      growthBytesPerSecond: verdict.signals.heap.bytesPerSecond,
      leakSuspected: verdict.leakSuspected,
      suspectedSince: suspectedSince === null ? null : new Date(suspectedSince).toISOString(),
      growing: verdict.growing,
      secondsToLimit: verdict.secondsToLimit,
      limit: verdict.limit,
      forecasts: verdict.forecasts,
      signals: verdict.signals,
      growingSites: growingSites(),
      evidenceSeconds: verdict.evidenceSeconds,
      boundedBytes,
      watchdog: { fast: sampling.fast, intervalMs: sampling.intervalMs },
    })

    const suspect = async (t: number): Promise<void> => {
      // A fresh profile for the growing sites, then the line: what grows, how fast, where, and when it ends.
      await shared.heapProfile?.recordGrowth(t)
      if (suspectedSince !== t) return
      const s = section()
      const kind = s.growing ?? 'heap'
      const rate = s.signals[kind].bytesPerSecond ?? 0
      logger.warn(
        {
          growing: s.growing,
          bytesPerSecond: rate,
          secondsToLimit: s.secondsToLimit,
          limit: s.limit,
          growingSites: s.growingSites.slice(0, 5),
          evidenceSeconds: s.evidenceSeconds,
          workingSet: s.signals.workingSet.latestBytes,
          containerLimit: containerLimit,
          utilization: containerLimit === null || s.signals.workingSet.latestBytes === null ? null : s.signals.workingSet.latestBytes / containerLimit,
        },
        `memory leak suspected: ${trendSentence(kind, rate, s.secondsToLimit, s.limit)}${s.growingSites[0] === undefined ? '' : `; fastest growing: ${s.growingSites[0].function} ${s.growingSites[0].file}:${s.growingSites[0].line}`}`,
      )
      events.emit('leak', s)
    }

    return {
      collectors: [trendCollector(section)],
      onMajorGc({ liveBytes, at }) {
        boundedBytes = shared.boundedMemory?.boundedBytes() ?? 0
        detector.addLiveSet(at, liveBytes, boundedBytes)
      },
      onSample(reading) {
        const c = reading.container
        containerLimit = c?.limitBytes ?? null
        detector.addSample({
          t: reading.t,
          heapTotal: reading.process.heapTotal,
          external: reading.process.external,
          workingSet: c?.workingSetBytes ?? reading.process.rss,
          containerLimit: c?.limitBytes ?? null,
          heapLimit: reading.v8.heapSizeLimit,
        })
        if (reading.t - verdictAt < VERDICT_EVERY_MS) return
        verdict = detector.verdict()
        verdictAt = reading.t
        sampling.setFast('forecast', verdict.secondsToLimit !== null && verdict.secondsToLimit < FAST_FORECAST_SECONDS)
        if (verdict.leakSuspected && suspectedSince === null) {
          suspectedSince = reading.t
          void suspect(reading.t).catch((err: unknown) => logger.error({ err }, 'oomkit leak report failed'))
        } else if (!verdict.leakSuspected && suspectedSince !== null) {
          logger.info(
            { suspectedForSeconds: Math.round((reading.t - suspectedSince) / 1000) },
            `memory leak suspicion cleared after ${duration((reading.t - suspectedSince) / 1000)}: growth no longer sustained`,
          )
          suspectedSince = null
        }
      },
      logFields: () => ({
        growthBytesPerSecond: verdict.signals.heap.bytesPerSecond,
        leakSuspected: verdict.leakSuspected,
        growing: verdict.growing,
        secondsToLimit: verdict.secondsToLimit,
        limitKind: verdict.limit,
      }),
      stop() {
        sampling.setFast('forecast', false)
        detector.clear()
      },
      section,
    }
  },
})

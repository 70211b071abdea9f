import { gzipSync } from 'node:zlib'
import { defineCapability } from '../../capability.js'
import { messageOf } from '../../errors.js'
import { type GrowthSite, GrowthTracker } from './growth.js'
import type { ResolvedHeapProfileOptions, HeapProfileOptions } from './options.js'
import { HEAP_PROFILE_DEFAULTS, resolveHeapProfile } from './options.js'
import { type HeapProfileSection, HeapProfiler } from './profiler.js'
import { heapProfileRoutes } from './routes.js'
import type { TopSite } from './top-sites.js'

/** What the heap profile offers the other capabilities (the trend, last words). */
export interface HeapProfileService {
  /** Whether the profiler runs (it may be off, or have failed to start). */
  readonly running: boolean
  /** Records the top sites of a fresh profile for the growth window (inspector backend: a full GC). */
  recordGrowth(at: number): Promise<void>
  /** The sites that grow over the window, fastest first. */
  growingSites(limit: number): GrowthSite[]
  /** Seconds the growth window spans. */
  readonly growthWindowSeconds: number
  /** The top sites of a fresh profile. */
  topSites(limit: number): Promise<TopSite[]>
  /** A fresh profile, gzipped pprof (what `/debug/pprof/heap` serves). */
  pprof(): Promise<Buffer>
}

declare module '../../capability.js' {
  interface CapabilityOptions {
    /** The always-on sampling heap profiler, or false to turn it off. @default { intervalBytes: 524288, stackDepth: 64 } */
    heapProfile?: HeapProfileOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly heapProfile: ResolvedHeapProfileOptions | false
  }
  interface ReportSections {
    /** The sampling heap profiler: backend, interval and the top 10 allocation sites; null when `heapProfile: false`. */
    profile: HeapProfileSection | null
  }
  interface SharedServices {
    heapProfile: HeapProfileService
  }
}

/**
 * How often a profile is recorded for the growing sites: every 30 s when reading costs ~1 ms
 * (`@datadog/pprof`), every 2 min when each read forces a full GC (`node:inspector`).
 */
export const GROWTH_RECORD_MS = Object.freeze({ datadog: 30_000, inspector: 120_000 })

/**
 * The always-on sampling heap profiler: `/debug/pprof/heap`, `/debug/memory/top` (with
 * `?growth=1`, the growing sites) and the report's `profile` section. With `heapProfile: false`
 * the routes stay and answer `OOMKIT_PROFILER_OFF` with how to turn it on.
 */
export const heapProfileCapability = defineCapability({
  name: 'heap-profile',
  option: 'heapProfile',
  defaults: HEAP_PROFILE_DEFAULTS,
  resolve: resolveHeapProfile,
  section: 'profile',
  create({ options, logger, shared }) {
    const profiler = options === false ? null : new HeapProfiler(options)
    const growth = new GrowthTracker()
    let failure: string | null = null
    let stopped = false
    let recording: Promise<void> | null = null
    const record = (at: number): Promise<void> => {
      if (profiler === null || !profiler.running) return Promise.resolve()
      // One read at a time: a slow inspector read must not pile up behind the sampling timer.
      recording ??= profiler
        .topSites(500)
        .then(
          (sites) => growth.record(at, sites),
          (err: unknown) => logger.debug({ err }, 'heap profile read for the growing sites failed'),
        )
        .finally(() => {
          recording = null
        })
      return recording
    }
    if (profiler !== null) {
      shared.heapProfile = {
        get running() {
          return profiler.running
        },
        recordGrowth: record,
        growingSites: (limit) => growth.growing(limit),
        get growthWindowSeconds() {
          return growth.windowSeconds
        },
        topSites: (limit) => profiler.topSites(limit),
        pprof: async () => gzipSync((await profiler.profile()).encode()),
      }
    }
    return {
      routes: heapProfileRoutes({
        profiler: () => profiler,
        reason: () => failure ?? (stopped ? 'this oomkit instance is stopped' : null),
        growing: async (limit) => {
          await record(Date.now())
          return { sites: growth.growing(limit), windowSeconds: growth.windowSeconds, profiles: growth.profiles }
        },
      }),
      start() {
        if (profiler === null) return
        try {
          profiler.start()
          logger.info({ backend: profiler.backend, intervalBytes: profiler.intervalBytes, shared: profiler.shared }, 'sampling heap profiler on')
        } catch (err) {
          failure = messageOf(err)
          logger.warn({ err }, 'sampling heap profiler could not start: /debug/pprof/heap and /debug/memory/top are off')
        }
      },
      onSample(reading) {
        if (profiler === null || !profiler.running) return
        const last = growth.lastRecordedAt
        if (last === null || reading.t - last >= GROWTH_RECORD_MS[profiler.backend]) void record(reading.t)
      },
      stop() {
        stopped = true
        profiler?.stop()
      },
      section: () => profiler?.reportSection() ?? null,
    }
  },
})

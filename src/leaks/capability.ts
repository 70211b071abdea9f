import { defineCapability } from '../capability.js'
import type { LeakReport } from './lease.js'
import { type LeaksReport, LeakTracking } from './leaks.js'
import { LEAKS_DEFAULTS, type LeaksOptions, type ResolvedLeaksOptions, resolveLeaks } from './options.js'
import { leaksCollector } from './collector.js'
import { leaksRoute } from './route.js'

declare module '../capability.js' {
  interface CapabilityApi {
    /** Connection-leak tracking: `acquire()` leases, `trackPool()` for pg, mysql2 and generic-pool. */
    readonly leaks: LeakTracking
  }
  interface CapabilityOptions {
    /** Connection-leak tracking, or false to turn it off. @default { holdThresholdMs: 30000, maxTracked: 10000, captureStacks: true, sockets: true, checkIntervalMs: 1000 } */
    leaks?: LeaksOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly leaks: ResolvedLeaksOptions | false
  }
  interface ReportSections {
    /** Tracked resources: leases past their threshold (the oldest 10), pools, counts; null when `leaks: false`. */
    leaks: LeaksReport | null
  }
}

declare module '../events.js' {
  interface OomkitEvents {
    /**
     * A lease was held past its threshold (`reason: 'held'`, once per lease) or its resource was
     * garbage-collected without a release (`reason: 'collected'`). Not the trend detector's `leak`.
     */
    resourceLeak: [report: LeakReport]
  }
}

/** Leases kept in the report's section (the route serves up to its `limit`). */
const SECTION_LEASES = 10

/**
 * Connection-leak tracking (HikariCP's `leakDetectionThreshold` for Node): `kit.leaks`,
 * `GET /debug/leaks`, the `oomkit_resource*` and `oomkit_pool_*` series and the report's `leaks`
 * section. With `leaks: false`, `kit.leaks` tracks nothing, there is no route and the section is null.
 */
export const leaksCapability = defineCapability({
  name: 'leaks',
  option: 'leaks',
  defaults: LEAKS_DEFAULTS,
  resolve: resolveLeaks,
  section: 'leaks',
  create({ options, logger, events }) {
    const leaks = new LeakTracking(options, logger, (report) => events.emit('resourceLeak', report))
    if (options === false) return { api: { leaks }, section: () => null }
    const { tracker, pools } = leaks.internals
    return {
      api: { leaks },
      routes: [leaksRoute(leaks)],
      collectors: [leaksCollector(tracker, pools)],
      start: () => leaks.start(),
      stop: () => leaks.stop(),
      section: () => leaks.report(SECTION_LEASES),
    }
  },
})

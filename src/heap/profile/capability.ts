import { defineCapability } from '../../capability.js'
import { messageOf } from '../../errors.js'
import type { ResolvedHeapProfileOptions, HeapProfileOptions } from './options.js'
import { HEAP_PROFILE_DEFAULTS, resolveHeapProfile } from './options.js'
import { type HeapProfileSection, HeapProfiler } from './profiler.js'
import { heapProfileRoutes } from './routes.js'

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
}

/**
 * The always-on sampling heap profiler: `/debug/pprof/heap`, `/debug/memory/top` and the report's
 * `profile` section. With `heapProfile: false` the routes stay and answer `OOMKIT_PROFILER_OFF`
 * with how to turn it on.
 */
export const heapProfileCapability = defineCapability({
  name: 'heap-profile',
  option: 'heapProfile',
  defaults: HEAP_PROFILE_DEFAULTS,
  resolve: resolveHeapProfile,
  section: 'profile',
  create({ options, logger }) {
    const profiler = options === false ? null : new HeapProfiler(options)
    let failure: string | null = null
    let stopped = false
    return {
      routes: heapProfileRoutes({
        profiler: () => profiler,
        reason: () => failure ?? (stopped ? 'this oomkit instance is stopped' : null),
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
      stop() {
        stopped = true
        profiler?.stop()
      },
      section: () => profiler?.reportSection() ?? null,
    }
  },
})

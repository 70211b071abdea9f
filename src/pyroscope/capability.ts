import { defineCapability } from '../capability.js'
import { uploadsCollector } from './collector.js'
import { type PyroscopeOptions, type ResolvedPyroscopeOptions, resolvePyroscope } from './options.js'
import { type PyroscopeSection, PyroscopeProfiling } from './profiling.js'
import { effectiveTags } from './protocol.js'

declare module '../capability.js' {
  interface CapabilityOptions {
    /** Continuous profiling with Grafana Pyroscope (needs `@pyroscope/nodejs`), or false. @default false */
    pyroscope?: PyroscopeOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly pyroscope: ResolvedPyroscopeOptions | false
  }
  interface ReportSections {
    /** Profiles sent to Pyroscope: what, where, and the upload outcomes; null when `pyroscope` is off. */
    pyroscope: PyroscopeSection | null
  }
}

/**
 * Continuous profiling with Pyroscope: wall profiles from `@pyroscope/nodejs`, heap profiles from
 * oomkit's one V8 heap sampler, both uploaded bounded; `oomkit_profile_uploads_total` and the
 * report's `pyroscope` section. Off unless `pyroscope` is given (or `PYROSCOPE_SERVER_ADDRESS`
 * with `oomkit/register`); the upload counter's family is registered either way, without series
 * while off.
 */
export const pyroscopeCapability = defineCapability({
  name: 'pyroscope',
  option: 'pyroscope',
  // Opt-in: nothing is sent anywhere unless asked for. PYROSCOPE_DEFAULTS has what `{}` resolves to.
  defaults: false,
  resolve: (value: unknown) => resolvePyroscope(value),
  section: 'pyroscope',
  create({ options, logger }) {
    if (options === false) return { collectors: [uploadsCollector(() => null)], section: () => null }
    const profiling = new PyroscopeProfiling({ options, tags: effectiveTags(options, process.env), logger })
    const kinds = profiling.section().profiles
    return {
      // Series only while it runs: a Pyroscope that failed to start has nothing to count.
      collectors: [uploadsCollector(() => (profiling.running ? { kinds, counts: profiling.uploader.counts } : null))],
      start: () => profiling.start(),
      stop: () => profiling.stop(),
      section: () => profiling.section(),
    }
  },
})

/**
 * oomkit: memory instrumentation for Node.js services in containers.
 *
 * @example
 * import { createOomkit } from 'oomkit'
 * const kit = createOomkit({ logger, registry }).start()
 * await kit.listen({ port: 9469 })
 */
import type { OomkitOptions } from './config.js'
import { Oomkit } from './kit.js'

export { Oomkit, type MemoryReport, type OomkitEvents, type ListenOptions, type HandlerMountOptions } from './kit.js'
export type { DebugServer, OomkitHandler, Route, RouteContext } from './http/index.js'
export { readEnv, parseDuration, ENV_VARS, type EnvConfig } from './env.js'
export { OomkitError, ERROR_CODES, type OomkitErrorCode } from './errors.js'
export { DEFAULTS, type CoreOptions, type OomkitOptions, type OomkitLogger, type ResolvedOptions } from './config.js'
export type { CoreReport, ContainerSection, V8Section } from './memory/report.js'
export type { ReportSections, CapabilityOptions, ResolvedCapabilityOptions } from './capability.js'
export type { HeapProfileOptions, HeapProfileSection, HeapProfilerBackend, TopSite } from './heap/profile/index.js'
export type { Budget, BudgetVerdict } from './memory/budget.js'
export { createCache, memoize, boundedCacheBytes, estimateBytes, ENTRY_OVERHEAD_BYTES, MAX_WALK_NODES, MAX_KEY_DEPTH, MAX_KEY_LENGTH } from './cache/index.js'
export type {
  BoundedCacheBytes,
  ByteBound,
  Cache,
  CacheBounds,
  CacheEvictions,
  CacheInfo,
  CacheOptions,
  CacheReport,
  CachesOptions,
  CachesSection,
  CacheStats,
  CacheWarning,
  CacheWarningKind,
  LimitShare,
  Memoized,
  MemoizedApi,
  MemoizeOptions,
} from './cache/index.js'
export { SNAPSHOT_OUTCOMES, type SnapshotOptions, type SnapshotOutcome, type SnapshotStatus } from './heap/snapshot/index.js'
export {
  PYROSCOPE_DEFAULTS,
  PYROSCOPE_ENV_VARS,
  UPLOAD_OUTCOMES,
  type PyroscopeHeapOptions,
  type PyroscopeOptions,
  type PyroscopeSection,
  type PyroscopeWallOptions,
  type UploadOutcome,
} from './pyroscope/index.js'
export type { GrowingKind, LimitKind, SignalTrend, TrendOptions, TrendSection, TrendSignalName } from './trend/index.js'
export type { Sample, ProcessMemory, HeapSpace } from './memory/sampler.js'
export type { CaptureTrigger, CrashCause, LastWordsOptions, LastWordsSites, LastWordsSummary, PreviousCrash } from './last-words/index.js'
export {
  LeakTracking,
  Lease,
  type AcquireOptions,
  type LeakReport,
  type LeaksOptions,
  type LeaksReport,
  type PoolKind,
  type PoolSummary,
  type ResourceSummary,
  type StackFrame,
  type TrackPoolOptions,
  type TrackedPool,
} from './leaks/index.js'
export type { ContainerMemory, MemoryPressure, PressureLine, CgroupLocation } from './container/index.js'

/**
 * Creates an oomkit instance. Validates every option (a bad one throws `OomkitError` with code
 * `OOMKIT_INVALID_OPTION`); starts nothing until `start()`.
 *
 * @example
 * const kit = createOomkit({ sampleIntervalMs: 5000, warnRatio: 0.8 }).start()
 * console.log(kit.report().budget.message)
 */
export function createOomkit(options?: OomkitOptions): Oomkit {
  return new Oomkit(options)
}

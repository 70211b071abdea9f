import { type Capability, defineCapability } from '../../capability.js'
import { type SnapshotStatus, SnapshotGuard } from './guard.js'
import { type ResolvedSnapshotOptions, type SnapshotOptions, SNAPSHOT_DEFAULTS, resolveSnapshot } from './options.js'
import { snapshotRoute } from './route.js'

declare module '../../capability.js' {
  interface CapabilityOptions {
    /** The guarded heap snapshot route, or false to turn `/debug/heap` off. @default { cooldownMs: 60000, allowTmpfs: false, idleTimeoutMs: 30000 } */
    snapshot?: SnapshotOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly snapshot: ResolvedSnapshotOptions | false
  }
  interface ReportSections {
    /** Whether a heap snapshot is possible now, and the numbers why; null when `snapshot: false`. */
    snapshot: SnapshotStatus | null
  }
}

/**
 * The guarded heap snapshot: `GET`/`POST /debug/heap`, `oomkit_heap_snapshots_total` and the
 * report's `snapshot` section. With `snapshot: false` there is no route, no counter and the
 * section is null.
 */
export const snapshotCapability = defineCapability({
  name: 'heap-snapshot',
  option: 'snapshot',
  defaults: SNAPSHOT_DEFAULTS,
  resolve: resolveSnapshot,
  section: 'snapshot',
  create({ options, core, logger, memory }): Capability<SnapshotStatus | null> {
    if (options === false) return { section: () => null }
    const guard = new SnapshotGuard({
      ...options,
      diagnosticsDir: core.diagnosticsDir,
      procRoot: core.procRoot,
      logger,
      readContainer: () => memory.readContainer(),
    })
    return {
      routes: [snapshotRoute(guard)],
      collectors: [guard.collector],
      start: () => guard.start(),
      section: () => guard.status(),
    }
  },
})

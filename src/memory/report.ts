import type { ContainerMemory } from '../container/index.js'
import type { HeapProfileSection } from '../heap/profiler.js'
import type { Budget } from './budget.js'
import type { GcState } from './gc-observer.js'
import type { HeapSpace, ProcessMemory, Reading, Sample } from './sampler.js'

/** The `v8` section of the report. */
export interface V8Section {
  readonly heapSizeLimit: number
  readonly totalHeapSize: number
  readonly usedHeapSize: number
  readonly mallocedMemory: number
  /** Heap used right after the last major GC, or null before the first one. */
  readonly liveAfterGcBytes: number | null
  readonly majorGcCount: number
  readonly lastMajorGcAt: string | null
  readonly spaces: readonly HeapSpace[]
}

/** The `container` section: cgroup facts plus the working set / limit ratio. */
export interface ContainerSection extends ContainerMemory {
  /** workingSetBytes / limitBytes, or null without both. */
  readonly utilization: number | null
}

/**
 * What `kit.report()` and `GET /debug/memory` return. Bytes are integers everywhere. Sections of
 * capabilities that are not running are null.
 */
export interface MemoryReport {
  readonly timestamp: string
  readonly pid: number
  readonly uptimeSeconds: number
  readonly process: ProcessMemory
  readonly v8: V8Section
  readonly container: ContainerSection | null
  readonly budget: Budget
  readonly trend: unknown
  readonly snapshot: unknown
  readonly caches: unknown
  readonly leaks: unknown
  /** The sampling heap profiler: backend, interval and the top 10 allocation sites; null when off. */
  readonly profile: HeapProfileSection | null
  /** Recent samples, oldest first, at most `historySize`. */
  readonly history: readonly Sample[]
}

/** Working set over limit, or null when either is unknown. */
export function utilization(c: ContainerMemory | null): number | null {
  if (c === null || c.workingSetBytes === null || c.limitBytes === null || c.limitBytes === 0) return null
  return c.workingSetBytes / c.limitBytes
}

/** Inputs the report is assembled from; each capability contributes its own section. */
export interface ReportParts {
  readonly reading: Reading
  readonly gc: GcState
  readonly budget: Budget
  readonly history: readonly Sample[]
  readonly trend?: unknown
  readonly snapshot?: unknown
  readonly caches?: unknown
  readonly leaks?: unknown
  readonly profile?: HeapProfileSection | null
}

/** Assembles the report from one reading and the capabilities' sections. */
export function buildReport(parts: ReportParts): MemoryReport {
  const { reading, gc } = parts
  return {
    timestamp: new Date(reading.t).toISOString(),
    pid: process.pid,
    uptimeSeconds: Math.round(process.uptime()),
    process: reading.process,
    v8: {
      heapSizeLimit: reading.v8.heapSizeLimit,
      totalHeapSize: reading.v8.totalHeapSize,
      usedHeapSize: reading.v8.usedHeapSize,
      mallocedMemory: reading.v8.mallocedMemory,
      liveAfterGcBytes: gc.liveAfterGcBytes,
      majorGcCount: gc.majorGcCount,
      lastMajorGcAt: gc.lastMajorGcAt === null ? null : new Date(gc.lastMajorGcAt).toISOString(),
      spaces: reading.v8.spaces,
    },
    container: reading.container === null ? null : { ...reading.container, utilization: utilization(reading.container) },
    budget: parts.budget,
    trend: parts.trend ?? null,
    snapshot: parts.snapshot ?? null,
    caches: parts.caches ?? null,
    leaks: parts.leaks ?? null,
    profile: parts.profile ?? null,
    history: parts.history,
  }
}

import type { ContainerMemory, KernelSignals } from '../container/index.js'
import { utilization } from '../container/index.js'
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
  /** The kernel's early signals (v2 memory.events and memory.peak, v1 failcnt and max usage). */
  readonly kernel: KernelSignals | null
}

/** The core of the report, the part no capability owns. Bytes are integers everywhere. */
export interface CoreReport {
  readonly timestamp: string
  readonly pid: number
  readonly uptimeSeconds: number
  readonly process: ProcessMemory
  readonly v8: V8Section
  /** null without a memory cgroup. */
  readonly container: ContainerSection | null
  readonly budget: Budget
  /** Recent samples, oldest first, at most `historySize`. */
  readonly history: readonly Sample[]
}

/** What the core report is built from. */
export interface CoreReportParts {
  readonly reading: Reading
  readonly kernel: KernelSignals | null
  readonly gc: GcState
  readonly budget: Budget
  readonly history: readonly Sample[]
}

/** Builds the core report from one reading; the kit adds each capability's section. */
export function buildCoreReport(parts: CoreReportParts): CoreReport {
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
    container: reading.container === null ? null : { ...reading.container, utilization: utilization(reading.container), kernel: parts.kernel },
    budget: parts.budget,
    history: parts.history,
  }
}

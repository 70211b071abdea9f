import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { type CgroupLocation, type ContainerMemory, readContainerMemory } from '../container/index.js'
import { Ring } from './history.js'

/** `process.memoryUsage()`, in bytes. */
export interface ProcessMemory {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

/** One V8 heap space. */
export interface HeapSpace {
  readonly name: string
  readonly sizeBytes: number
  readonly usedBytes: number
  readonly availableBytes: number
}

/** V8's view of its heap. */
export interface V8Memory {
  readonly heapSizeLimit: number
  readonly totalHeapSize: number
  readonly usedHeapSize: number
  readonly mallocedMemory: number
  readonly spaces: readonly HeapSpace[]
}

/** One entry of the bounded history. */
export interface Sample {
  /** Epoch ms. */
  readonly t: number
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  readonly workingSet: number | null
  readonly limit: number | null
  readonly liveAfterGc: number | null
}

/** Everything one sampling tick read. */
export interface Reading {
  readonly t: number
  readonly process: ProcessMemory
  readonly v8: V8Memory
  readonly container: ContainerMemory | null
}

/** Reads V8's heap statistics and spaces (sub-µs calls). */
export function readV8(): V8Memory {
  const h = getHeapStatistics()
  return {
    heapSizeLimit: h.heap_size_limit,
    totalHeapSize: h.total_heap_size,
    usedHeapSize: h.used_heap_size,
    mallocedMemory: h.malloced_memory,
    spaces: getHeapSpaceStatistics().map((s) => ({
      name: s.space_name,
      sizeBytes: s.space_size,
      usedBytes: s.space_used_size,
      availableBytes: s.space_available_size,
    })),
  }
}

/** Reads `process.memoryUsage()` into plain integers. */
export function readProcess(): ProcessMemory {
  const m = process.memoryUsage()
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

/**
 * Takes readings on demand and keeps a bounded history of them. The timer lives in the kit; the
 * sampler itself holds no handle, so it can be driven by tests with an injected clock.
 */
export class Sampler {
  readonly history: Ring<Sample>
  #last: Reading | null = null

  constructor(
    readonly location: CgroupLocation | null,
    historySize: number,
    readonly liveAfterGc: () => number | null,
    readonly now: () => number = Date.now,
  ) {
    this.history = new Ring<Sample>(historySize)
  }

  /** Reads the container now (or null without a memory cgroup). */
  readContainer(): ContainerMemory | null {
    return this.location === null ? null : readContainerMemory(this.location)
  }

  /** Takes one reading without recording it. */
  read(): Reading {
    return { t: this.now(), process: readProcess(), v8: readV8(), container: this.readContainer() }
  }

  /** Takes one reading and appends it to the history. */
  sample(): Reading {
    const reading = this.read()
    this.#last = reading
    this.history.push({
      t: reading.t,
      rss: reading.process.rss,
      heapUsed: reading.process.heapUsed,
      heapTotal: reading.process.heapTotal,
      external: reading.process.external,
      arrayBuffers: reading.process.arrayBuffers,
      workingSet: reading.container?.workingSetBytes ?? null,
      limit: reading.container?.limitBytes ?? null,
      liveAfterGc: this.liveAfterGc(),
    })
    return reading
  }

  /** The newest reading, taking one first if there is none yet. */
  latest(): Reading {
    return this.#last ?? this.sample()
  }
}

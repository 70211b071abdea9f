import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'

/**
 * The one place oomkit asks V8 and the process for memory numbers: the sampler, the GC observer,
 * the metrics collectors and the snapshot guard all read through these, so every consumer sees
 * the same fields under the same names.
 */

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

/** Reads V8's heap statistics and spaces (sub-µs calls). */
export function readV8(): V8Memory {
  const h = getHeapStatistics()
  return {
    heapSizeLimit: h.heap_size_limit,
    totalHeapSize: h.total_heap_size,
    usedHeapSize: h.used_heap_size,
    mallocedMemory: h.malloced_memory,
    spaces: readHeapSpaces(),
  }
}

/** V8's heap spaces alone. */
export function readHeapSpaces(): HeapSpace[] {
  return getHeapSpaceStatistics().map((s) => ({
    name: s.space_name,
    sizeBytes: s.space_size,
    usedBytes: s.space_used_size,
    availableBytes: s.space_available_size,
  }))
}

/** Heap bytes in use now (`used_heap_size`): the cheapest V8 reading, for hot paths. */
export function readHeapUsed(): number {
  return getHeapStatistics().used_heap_size
}

/** V8's heap size limit (`heap_size_limit`). */
export function readHeapLimit(): number {
  return getHeapStatistics().heap_size_limit
}

/** Reads `process.memoryUsage()` into plain integers (~7 µs: it reads RSS from the kernel). */
export function readProcess(): ProcessMemory {
  const m = process.memoryUsage()
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

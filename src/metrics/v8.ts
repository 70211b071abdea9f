import { getHeapStatistics } from 'node:v8'
import { MetricFamily, single } from './family.js'
import type { CollectorGuard } from './guard.js'

/** What the V8 families read at scrape time. */
export interface V8Source {
  readonly heapLimitBytes: number
  readonly liveAfterGcBytes: number | null
  readonly arrayBuffersBytes: number
}

/** Reads the V8 source now; `liveAfterGc` comes from the GC observer. */
export function readV8Source(liveAfterGc: () => number | null): V8Source {
  return {
    heapLimitBytes: getHeapStatistics().heap_size_limit,
    liveAfterGcBytes: liveAfterGc(),
    arrayBuffersBytes: process.memoryUsage().arrayBuffers,
  }
}

/** V8 heap families: the heap limit, the live set after the last major GC, ArrayBuffer memory. */
export function v8Families(prefix: string, guard: CollectorGuard<V8Source>): MetricFamily<V8Source>[] {
  return [
    new MetricFamily(`${prefix}v8_heap_limit_bytes`, 'V8 heap size limit (heap_size_limit); compare with the container limit.', 'gauge', guard, (s) => single(s.heapLimitBytes)),
    new MetricFamily(`${prefix}v8_heap_live_bytes`, 'V8 heap used right after the last major GC (the live set); absent before the first one.', 'gauge', guard, (s) => single(s.liveAfterGcBytes)),
    new MetricFamily(`${prefix}memory_arraybuffers_bytes`, 'Memory held by ArrayBuffers and Buffers, outside the V8 heap.', 'gauge', guard, (s) => single(s.arrayBuffersBytes)),
  ]
}

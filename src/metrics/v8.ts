import { readHeapLimit, readProcess } from '../memory/v8.js'
import { type Collector, defineCollector } from './collector.js'
import { single } from './family.js'

/** What the V8 families read at scrape time. */
export interface V8Source {
  readonly heapLimitBytes: number
  readonly liveAfterGcBytes: number | null
  readonly arrayBuffersBytes: number
}

/**
 * Reads the V8 source now; `liveAfterGc` comes from the GC observer, `arrayBuffers` (default:
 * `process.memoryUsage()` now, which also reads the RSS from /proc) may reuse a recent reading.
 */
export function readV8Source(liveAfterGc: () => number | null, arrayBuffers: () => number = () => readProcess().arrayBuffers): V8Source {
  return { heapLimitBytes: readHeapLimit(), liveAfterGcBytes: liveAfterGc(), arrayBuffersBytes: arrayBuffers() }
}

/** V8 heap families: the heap limit, the live set after the last major GC, ArrayBuffer memory. */
export function v8Collector(read: () => V8Source | Promise<V8Source>): Collector<V8Source> {
  return defineCollector({
    name: 'v8',
    read,
    families: [
      {
        name: 'v8_heap_limit_bytes',
        help: 'V8 heap size limit (heap_size_limit); compare with the container limit.',
        type: 'gauge',
        values: (s) => single(s.heapLimitBytes),
      },
      {
        name: 'v8_heap_live_bytes',
        help: 'V8 heap used right after the last major GC (the live set); absent before the first one.',
        type: 'gauge',
        values: (s) => single(s.liveAfterGcBytes),
      },
      {
        name: 'memory_arraybuffers_bytes',
        help: 'Memory held by ArrayBuffers and Buffers, outside the V8 heap.',
        type: 'gauge',
        values: (s) => single(s.arrayBuffersBytes),
      },
    ],
  })
}

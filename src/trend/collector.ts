import { type Collector, defineCollector } from '../metrics/collector.js'
import { type FamilyValue, single } from '../metrics/family.js'
import type { TrendSection } from './section.js'

/** The trend's metrics, read at scrape time from its last verdict. */
export function trendCollector(read: () => TrendSection): Collector<TrendSection> {
  return defineCollector({
    name: 'trend',
    read,
    families: [
      {
        name: 'heap_growth_bytes_per_second',
        type: 'gauge',
        help: 'Growth of the V8 live set (heap used after major GCs), Theil-Sen over the trend window; absent until enough major GCs.',
        values: (s) => single(s.growthBytesPerSecond),
      },
      {
        name: 'leak_suspected',
        type: 'gauge',
        help: '1 while a memory leak is suspected (sustained growth beyond noise, evidence proportional to the risk), else 0.',
        values: (s) => single(s.leakSuspected ? 1 : 0),
      },
      {
        name: 'memory_seconds_to_limit',
        type: 'gauge',
        help: 'Seconds until a limit is reached at the current growth, by limit (container: the kernel kills; heap: V8 aborts); absent when not growing.',
        values: (s) => {
          const out: FamilyValue[] = []
          for (const limit of ['container', 'heap'] as const) {
            const v = s.forecasts[limit]
            if (v !== undefined) out.push({ value: v, labels: { limit } })
          }
          return out
        },
      },
    ],
  })
}

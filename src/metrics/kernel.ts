import type { KernelSignals } from '../container/index.js'
import { type Collector, defineCollector } from './collector.js'
import { type FamilyValue, single } from './family.js'

const EVENTS = [
  ['high', 'high'],
  ['max', 'max'],
  ['oom', 'oom'],
  ['oomKill', 'oom_kill'],
] as const

/**
 * The kernel's early signals, before an OOM kill: v2 `memory.events` and `memory.peak`, v1
 * `memory.failcnt` and `memory.max_usage_in_bytes`. Absent where the cgroup version has no such file.
 */
export function kernelCollector(read: () => KernelSignals | null): Collector<KernelSignals | null> {
  return defineCollector({
    name: 'kernel',
    read,
    families: [
      {
        name: 'container_memory_events_total',
        type: 'counter',
        help: 'cgroup v2 memory.events: times the kernel throttled (high), reclaimed at the limit (max), ran the OOM killer (oom) or killed (oom_kill).',
        values: (k) => {
          const out: FamilyValue[] = []
          for (const [key, event] of EVENTS) {
            const v = k?.events?.[key]
            if (v !== null && v !== undefined) out.push({ value: v, labels: { event } })
          }
          return out
        },
      },
      {
        name: 'container_memory_peak_bytes',
        type: 'gauge',
        help: 'Highest memory usage the cgroup saw (memory.peak on v2, memory.max_usage_in_bytes on v1).',
        values: (k) => single(k?.peakBytes),
      },
      {
        name: 'container_memory_failcnt_total',
        type: 'counter',
        help: 'cgroup v1 memory.failcnt: times usage hit the limit.',
        values: (k) => single(k?.failcnt),
      },
    ],
  })
}

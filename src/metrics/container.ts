import { type ContainerMemory, utilization } from '../container/index.js'
import { type Collector, type ValueFamilySpec, defineCollector } from './collector.js'
import { type FamilyValue, single } from './family.js'

type ContainerSpec = ValueFamilySpec<ContainerMemory | null>

function family(name: string, help: string, type: 'gauge' | 'counter', values: (c: ContainerMemory) => FamilyValue[]): ContainerSpec {
  return { name, help, type, values: (c) => (c === null ? [] : values(c)) }
}

/**
 * The container memory families, named to line up with cAdvisor's `container_memory_*` series
 * (the working set uses cAdvisor's formula), read from the cgroup at scrape time.
 */
export function containerCollector(read: () => ContainerMemory | null | Promise<ContainerMemory | null>): Collector<ContainerMemory | null> {
  return defineCollector({
    name: 'container',
    read,
    families: [
      family('container_memory_working_set_bytes', 'Container working set: cgroup usage minus inactive file pages (cAdvisor formula).', 'gauge', (c) =>
        single(c.workingSetBytes),
      ),
      family('container_memory_usage_bytes', 'Container memory usage as the cgroup counts it (memory.current or memory.usage_in_bytes).', 'gauge', (c) =>
        single(c.usageBytes),
      ),
      family('container_memory_limit_bytes', 'Effective container memory limit (smallest along the cgroup path); absent when unlimited.', 'gauge', (c) =>
        single(c.limitBytes),
      ),
      family('container_memory_rss_bytes', 'Anonymous memory of the container (anon on v2, total_rss on v1).', 'gauge', (c) => single(c.rssBytes)),
      family('container_memory_cache_bytes', 'Page cache charged to the container (file on v2, total_cache on v1).', 'gauge', (c) => single(c.cacheBytes)),
      family('container_oom_kills_total', 'OOM kills in the container cgroup, as the kernel counts them.', 'counter', (c) => single(c.oomKills)),
      family('container_memory_pressure_seconds_total', 'Time tasks of the container stalled on memory (PSI), by kind.', 'counter', (c) => {
        const out: FamilyValue[] = []
        if (c.pressure?.some) out.push({ value: c.pressure.some.totalSeconds, labels: { kind: 'some' } })
        if (c.pressure?.full) out.push({ value: c.pressure.full.totalSeconds, labels: { kind: 'full' } })
        return out
      }),
      family('memory_limit_utilization_ratio', 'Container working set divided by its limit; absent when unlimited.', 'gauge', (c) => single(utilization(c))),
    ],
  })
}

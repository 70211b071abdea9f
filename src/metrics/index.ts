import client, { type Counter, type Registry, type RegistryContentType } from 'prom-client'
import type { ContainerMemory, KernelSignals } from '../container/index.js'
import type { Budget } from '../memory/budget.js'
import { budgetCollector } from './budget.js'
import type { AnyCollector } from './collector.js'
import { containerCollector } from './container.js'
import { registerDefaultMetrics } from './default-metrics.js'
import { kernelCollector } from './kernel.js'
import { MetricFamily } from './family.js'
import { CollectorGuard } from './guard.js'
import { type V8Source, v8Collector } from './v8.js'

export { readV8Source, v8Collector, type V8Source } from './v8.js'
export { containerCollector } from './container.js'
export { kernelCollector } from './kernel.js'
export { budgetCollector, BUDGET_VERDICTS } from './budget.js'
export { CollectorGuard } from './guard.js'
export { MetricFamily, single, type FamilyValue, type HistogramValue } from './family.js'
export {
  defineCollector,
  collectorMetricNames,
  type AnyCollector,
  type Collector,
  type FamilySpec,
  type ValueFamilySpec,
  type HistogramFamilySpec,
} from './collector.js'

/** Where the core collectors read from at scrape time. */
export interface MetricSources {
  readonly container: () => ContainerMemory | null | Promise<ContainerMemory | null>
  readonly v8: () => V8Source | Promise<V8Source>
  /** The kernel's early signals; without it those families are left out. */
  readonly kernel?: () => KernelSignals | null
  /** The budget verdict; without it `oomkit_memory_budget_info` is left out. */
  readonly budget?: () => Budget
}

/** The core's collectors: the container's cgroup, the kernel's early signals, V8 and the budget verdict. */
export function coreCollectors(sources: MetricSources): AnyCollector[] {
  const out: AnyCollector[] = [containerCollector(sources.container), v8Collector(sources.v8)]
  if (sources.kernel !== undefined) out.splice(1, 0, kernelCollector(sources.kernel))
  if (sources.budget !== undefined) out.push(budgetCollector(sources.budget))
  return out
}

/** Options of {@link registerMetrics}. */
export interface MetricsOptions {
  /** Put before every family's name: `oomkit_`. */
  readonly prefix: string
  /** Longest a collector's `read()` may take in a scrape. */
  readonly timeoutMs: number
  /** Register prom-client's default metrics too (once per registry). */
  readonly defaultMetrics: boolean
}

/** What registerMetrics put in the registry, and how to take it out. */
export interface RegisteredMetrics {
  readonly errors: Counter<'collector'>
  /** Names of oomkit's own metrics in the registry. */
  readonly names: readonly string[]
  /** Removes everything this instance registered, leaving metrics other owners registered since. */
  unregister(): void
}

const owners = new WeakMap<object, symbol>()
// Owners (oomkit instances) that have not unregistered yet.
const live = new Set<symbol>()
// The oomkit metric a newer instance took a name over from, to hand the name back on its stop.
const previousOf = new WeakMap<object, object>()

// prom-client's default metrics start an event-loop-delay monitor and a GC observer that
// prom-client gives no way to stop. Registering them anew on every start() would pile those up,
// so they are registered once per registry and stay, as the app's own metrics would.
const defaultsRegistered = new WeakSet<Registry<RegistryContentType>>()

function ensureDefaults(registry: Registry<RegistryContentType>): void {
  if (defaultsRegistered.has(registry)) return
  defaultsRegistered.add(registry)
  registerDefaultMetrics(registry)
}

/**
 * Registers collectors into the registry, each behind its own {@link CollectorGuard}. A name already held by another oomkit instance
 * is taken over (the newest instance serves it); a name held by anything else is a conflict the
 * app must resolve, reported by prom-client's own error.
 */
export function registerMetrics(registry: Registry<RegistryContentType>, collectors: readonly AnyCollector[], options: MetricsOptions): RegisteredMetrics {
  const owner = Symbol('oomkit')
  live.add(owner)
  const names: string[] = []
  // Names are kept apart from the metric: prom-client renames counters while serving OpenMetrics.
  const mine: [string, object][] = []
  const put = (metric: { name: string }): void => {
    const existing = registry.getSingleMetric(metric.name)
    if (existing !== undefined && owners.has(existing)) {
      registry.removeSingleMetric(metric.name)
      previousOf.set(metric, existing)
    }
    registry.registerMetric(metric as never)
    owners.set(metric, owner)
    names.push(metric.name)
    mine.push([metric.name, metric])
  }

  const errorsName = `${options.prefix}collector_errors_total`
  const guards: CollectorGuard<unknown>[] = []
  const errors = new client.Counter({
    name: errorsName,
    help: 'Metric collectors that failed or timed out during a scrape; their series were left out of it.',
    labelNames: ['collector'] as const,
    registers: [],
    // Counts this scrape's failures in this scrape: wait for the collectors it shares readings with.
    async collect() {
      await Promise.all(guards.map((g) => g.collect()))
    },
  })
  put(errors as unknown as { name: string })

  for (const collector of collectors) {
    const guard = new CollectorGuard(collector.name, () => collector.read(), options.timeoutMs, errors)
    guards.push(guard)
    for (const spec of collector.families) put(new MetricFamily(`${options.prefix}${spec.name}`, spec, guard))
  }

  if (options.defaultMetrics) ensureDefaults(registry)

  return {
    errors,
    names,
    unregister() {
      if (!live.delete(owner)) return
      for (const [name, metric] of mine) {
        // Only what is still ours: a newer instance may have taken the name over.
        if (registry.getSingleMetric(name) !== metric) continue
        registry.removeSingleMetric(name)
        // Hand the name back to the newest older instance still running.
        let previous = previousOf.get(metric)
        while (previous !== undefined && !live.has(owners.get(previous) as symbol)) previous = previousOf.get(previous)
        if (previous !== undefined && registry.getSingleMetric(name) === undefined) registry.registerMetric(previous as never)
      }
      mine.length = 0
    },
  }
}

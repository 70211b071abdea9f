import client, { type Counter, type Registry, type RegistryContentType } from 'prom-client'
import type { ContainerMemory } from '../container/index.js'
import { containerFamilies } from './container.js'
import { registerDefaultMetrics } from './default-metrics.js'
import { CollectorGuard } from './guard.js'
import { type V8Source, v8Families } from './v8.js'

export { readV8Source, type V8Source } from './v8.js'
export { CollectorGuard } from './guard.js'
export { MetricFamily, single, type FamilyValue } from './family.js'

/** Where each collector reads from at scrape time. */
export interface MetricSources {
  readonly container: () => ContainerMemory | null | Promise<ContainerMemory | null>
  readonly v8: () => V8Source | Promise<V8Source>
}

/** Options of {@link registerMetrics}. */
export interface MetricsOptions {
  readonly prefix: string
  readonly timeoutMs: number
  readonly defaultMetrics: boolean
}

/** What registerMetrics put in the registry, and how to take it out. */
export interface RegisteredMetrics {
  readonly errors: Counter<'collector'>
  /** Names of oomkit's own metrics in the registry. */
  readonly names: readonly string[]
  /** Registers a later capability's metrics under the same ownership rules. */
  add(metrics: readonly { name: string }[]): void
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
 * Registers oomkit's collectors into the registry. A name already held by another oomkit instance
 * is taken over (the newest instance serves it); a name held by anything else is a conflict the
 * app must resolve, reported by prom-client's own error.
 */
export function registerMetrics(registry: Registry<RegistryContentType>, sources: MetricSources, options: MetricsOptions): RegisteredMetrics {
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

  const containerGuard = new CollectorGuard('container', sources.container, options.timeoutMs, errors)
  const v8Guard = new CollectorGuard('v8', sources.v8, options.timeoutMs, errors)
  guards.push(containerGuard as CollectorGuard<unknown>, v8Guard as CollectorGuard<unknown>)
  for (const f of containerFamilies(options.prefix, containerGuard)) put(f)
  for (const f of v8Families(options.prefix, v8Guard)) put(f)

  if (options.defaultMetrics) ensureDefaults(registry)

  return {
    errors,
    names,
    add(metrics) {
      for (const m of metrics) put(m)
    },
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

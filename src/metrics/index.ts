import client, { type Counter, type Registry } from 'prom-client'
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
// prom-client's default metrics are shared by every oomkit instance on a registry: the last one
// to stop takes out what the first one added (never what the app registered itself).
const defaultsByRegistry = new WeakMap<Registry, { names: string[]; users: number }>()

function acquireDefaults(registry: Registry): void {
  const entry = defaultsByRegistry.get(registry)
  if (entry !== undefined) {
    entry.users++
    return
  }
  defaultsByRegistry.set(registry, { names: registerDefaultMetrics(registry), users: 1 })
}

function releaseDefaults(registry: Registry): void {
  const entry = defaultsByRegistry.get(registry)
  if (entry === undefined || --entry.users > 0) return
  for (const name of entry.names) registry.removeSingleMetric(name)
  defaultsByRegistry.delete(registry)
}

/**
 * Registers oomkit's collectors into the registry. A name already held by another oomkit instance
 * is taken over (the newest instance serves it); a name held by anything else is a conflict the
 * app must resolve, reported by prom-client's own error.
 */
export function registerMetrics(registry: Registry, sources: MetricSources, options: MetricsOptions): RegisteredMetrics {
  const owner = Symbol('oomkit')
  const names: string[] = []
  // Names are kept apart from the metric: prom-client renames counters while serving OpenMetrics.
  const mine: [string, object][] = []
  const put = (metric: { name: string }): void => {
    const existing = registry.getSingleMetric(metric.name)
    if (existing !== undefined && owners.has(existing)) registry.removeSingleMetric(metric.name)
    registry.registerMetric(metric as never)
    owners.set(metric, owner)
    names.push(metric.name)
    mine.push([metric.name, metric])
  }

  const errorsName = `${options.prefix}collector_errors_total`
  const existingErrors = registry.getSingleMetric(errorsName)
  if (existingErrors !== undefined && owners.has(existingErrors)) registry.removeSingleMetric(errorsName)
  const errors = new client.Counter({
    name: errorsName,
    help: 'Metric collectors that failed or timed out during a scrape; their series were left out of it.',
    labelNames: ['collector'] as const,
    registers: [],
  })
  put(errors as unknown as { name: string })

  const containerGuard = new CollectorGuard('container', sources.container, options.timeoutMs, errors)
  const v8Guard = new CollectorGuard('v8', sources.v8, options.timeoutMs, errors)
  for (const f of containerFamilies(options.prefix, containerGuard)) put(f)
  for (const f of v8Families(options.prefix, v8Guard)) put(f)

  if (options.defaultMetrics) acquireDefaults(registry)
  let registered = true

  return {
    errors,
    names,
    add(metrics) {
      for (const m of metrics) put(m)
    },
    unregister() {
      if (!registered) return
      registered = false
      for (const [name, metric] of mine) {
        // Only what is still ours: a newer instance may have taken the name over.
        if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name)
      }
      mine.length = 0
      if (options.defaultMetrics) releaseDefaults(registry)
    },
  }
}

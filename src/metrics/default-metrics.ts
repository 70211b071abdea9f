import client, { type Registry, type RegistryContentType } from 'prom-client'

// A metric that collectDefaultMetrics always registers, whatever the platform.
const MARKER = 'process_cpu_user_seconds_total'

/**
 * Registers prom-client's default metrics unless the registry already has them (the app called
 * collectDefaultMetrics first, or another oomkit instance did). Returns the names it added, so
 * `stop()` can take exactly those out again.
 */
export function registerDefaultMetrics(registry: Registry<RegistryContentType>): string[] {
  if (registry.getSingleMetric(MARKER) !== undefined) return []
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name))
  client.collectDefaultMetrics({ register: registry })
  return registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((name) => !before.has(name))
}

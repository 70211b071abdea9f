import type { FamilySpec, FamilyValue } from './collector.js'
import type { CollectorGuard } from './guard.js'

export type { FamilyValue, HistogramValue } from './collector.js'

interface Series {
  readonly value: number
  readonly labels: Record<string, string | number>
  readonly metricName?: string
}

/**
 * The series of one scrape. A module function, not a `#private` method: the OpenMetrics route
 * serves every metric through an `Object.create(metric)` wrapper, which has no private brand, so a
 * `this.#method()` there throws (and the catch in `get()` would leave the family empty).
 */
function seriesOf<T>(spec: FamilySpec<T>, name: string, source: T): Series[] {
  if (spec.type !== 'histogram') return spec.values(source).filter((v) => Number.isFinite(v.value))
  const out: Series[] = []
  for (const h of spec.values(source)) {
    let cumulative = 0
    spec.buckets.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0
      out.push({ metricName: `${name}_bucket`, labels: { ...h.labels, le }, value: cumulative })
    })
    out.push({ metricName: `${name}_bucket`, labels: { ...h.labels, le: '+Inf' }, value: h.count })
    out.push({ metricName: `${name}_sum`, labels: h.labels, value: h.sum })
    out.push({ metricName: `${name}_count`, labels: h.labels, value: h.count })
  }
  return out.filter((v) => Number.isFinite(v.value))
}

/**
 * A metric family read at scrape time from a guarded collector. It is a prom-client metric as far
 * as the registry is concerned (name, help, type, get, reset), so it lives in the app's own
 * registry, but unlike a prom-client Gauge it can leave its series out entirely: an unknown value
 * (no limit, unreadable file, failed collector) is absent, never a misleading 0.
 */
export class MetricFamily<T> {
  /** How prom-client's cluster aggregator merges this family across workers. */
  readonly aggregator = 'sum'
  /** The `# HELP` text. */
  readonly help: string
  /** The `# TYPE`: gauge, counter or histogram. */
  readonly type: FamilySpec<T>['type']

  constructor(
    public name: string,
    private readonly spec: FamilySpec<T>,
    private readonly guard: CollectorGuard<T>,
  ) {
    this.help = spec.help
    this.type = spec.type
  }

  /** The family's series for this scrape (prom-client calls it); none when the collector failed. */
  async get(): Promise<{ name: string; help: string; type: string; values: Series[]; aggregator: string }> {
    const source = await this.guard.collect()
    let values: Series[] = []
    if (source !== null) {
      try {
        values = seriesOf(this.spec, this.name, source)
      } catch {
        values = []
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** Nothing to reset: values are read at scrape time. */
  reset(): void {}
}

/** One unlabelled value, or no series when it is null. */
export function single(value: number | null | undefined): FamilyValue[] {
  return value === null || value === undefined ? [] : [{ value, labels: {} }]
}

import type { FamilySpec, FamilyValue } from './collector.js'
import type { CollectorGuard } from './guard.js'

export type { FamilyValue, HistogramValue } from './collector.js'

interface Series {
  readonly value: number
  readonly labels: Record<string, string | number>
  readonly metricName?: string
  readonly sharedLabels: Readonly<Record<string, never>>
}

// prom-client formats a value's `sharedLabels` (default: a fresh `{}`) through a WeakMap keyed by
// the object: one frozen empty object for every series makes that a cache hit instead of a
// format and a WeakMap insert per series per scrape (~10 % of a scrape with hundreds of series).
const NO_SHARED_LABELS: Readonly<Record<string, never>> = Object.freeze({})

/**
 * The series of one scrape. A module function, not a `#private` method: the OpenMetrics route
 * serves every metric through an `Object.create(metric)` wrapper, which has no private brand, so a
 * `this.#method()` there throws (and the catch in `get()` would leave the family empty).
 */
function seriesOf<T>(spec: FamilySpec<T>, name: string, source: T): Series[] {
  const out: Series[] = []
  if (spec.type !== 'histogram') {
    for (const v of spec.values(source)) {
      if (Number.isFinite(v.value)) out.push({ value: v.value, labels: v.labels, sharedLabels: NO_SHARED_LABELS })
    }
    return out
  }
  const bucket = `${name}_bucket`
  const push = (metricName: string, labels: Record<string, string | number>, value: number): void => {
    if (Number.isFinite(value)) out.push({ metricName, labels, value, sharedLabels: NO_SHARED_LABELS })
  }
  for (const h of spec.values(source)) {
    let cumulative = 0
    for (let i = 0; i < spec.buckets.length; i++) {
      cumulative += h.counts[i] ?? 0
      push(bucket, { ...h.labels, le: spec.buckets[i] as number }, cumulative)
    }
    push(bucket, { ...h.labels, le: '+Inf' }, h.count)
    push(`${name}_sum`, h.labels, h.sum)
    push(`${name}_count`, h.labels, h.count)
  }
  return out
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

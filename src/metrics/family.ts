import type { FamilySpec, FamilyValue } from './collector.js'
import type { CollectorGuard } from './guard.js'

export type { FamilyValue, HistogramValue } from './collector.js'

interface Series {
  readonly value: number
  readonly labels: Labels
  readonly metricName?: string
  readonly sharedLabels: Labels
}

// prom-client formats a value's `sharedLabels` (default: a fresh `{}`) through a WeakMap keyed by
// the object: one frozen empty object for every series makes that a cache hit instead of a
// format and a WeakMap insert per series per scrape (~10 % of a scrape with hundreds of series).
const NO_SHARED_LABELS: Readonly<Record<string, never>> = Object.freeze({})

type Labels = Readonly<Record<string, string | number>>

/**
 * The series of one scrape. A module function, not a `#private` method: the OpenMetrics route
 * serves every metric through an `Object.create(metric)` wrapper, which has no private brand, so a
 * `this.#method()` there throws (and the catch in `get()` would leave the family empty).
 *
 * With `buckets` (the text formats, through `getForPromString`), a value whose labels object is
 * frozen is given to prom-client as its `sharedLabels`, with empty `labels`: prom-client formats
 * shared labels once per object and caches the text by identity, so a collector that hands out
 * the same frozen object every scrape (a `LabelMemo`) pays no label formatting. The text is
 * the same. An object that is not frozen might be changed in place, so it is formatted as before.
 * A histogram's per-bucket label objects (`le` added) are kept per frozen labels object in
 * `buckets`, a WeakMap: they live as long as the collector keeps that object.
 */
function seriesOf<T>(spec: FamilySpec<T>, name: string, source: T, buckets: WeakMap<object, readonly Labels[]> | null): Series[] {
  const out: Series[] = []
  if (spec.type !== 'histogram') {
    for (const v of spec.values(source)) {
      if (!Number.isFinite(v.value)) continue
      if (buckets !== null && Object.isFrozen(v.labels)) out.push({ value: v.value, labels: NO_SHARED_LABELS, sharedLabels: v.labels })
      else out.push({ value: v.value, labels: v.labels, sharedLabels: NO_SHARED_LABELS })
    }
    return out
  }
  const bucket = `${name}_bucket`
  const sum = `${name}_sum`
  const count = `${name}_count`
  const bounds = spec.buckets
  const push = (metricName: string, labels: Labels, value: number, shared: boolean): void => {
    if (!Number.isFinite(value)) return
    if (shared) out.push({ metricName, labels: NO_SHARED_LABELS, value, sharedLabels: labels })
    else out.push({ metricName, labels, value, sharedLabels: NO_SHARED_LABELS })
  }
  for (const h of spec.values(source)) {
    const shared = buckets !== null && Object.isFrozen(h.labels)
    let les = shared ? buckets.get(h.labels) : undefined
    if (les === undefined) {
      const built: Labels[] = bounds.map((le) => ({ ...h.labels, le }))
      built.push({ ...h.labels, le: '+Inf' })
      if (shared) {
        for (const l of built) Object.freeze(l)
        buckets.set(h.labels, built)
      }
      les = built
    }
    let cumulative = 0
    for (let i = 0; i < bounds.length; i++) {
      cumulative += h.counts[i] ?? 0
      push(bucket, les[i] as Labels, cumulative, shared)
    }
    push(bucket, les[bounds.length] as Labels, h.count, shared)
    push(sum, h.labels, h.sum, shared)
    push(count, h.labels, h.count, shared)
  }
  return out
}

interface FamilyData {
  name: string
  help: string
  type: string
  values: Series[]
  aggregator: string
}

/** One family's data for a scrape: its collector's reading (shared by the scrape), as series. */
async function readFamily<T>(family: MetricFamily<T>, buckets: WeakMap<object, readonly Labels[]> | null): Promise<FamilyData> {
  const source = await family.guard.collect()
  let values: Series[] = []
  if (source !== null) {
    try {
      values = seriesOf(family.spec, family.name, source, buckets)
    } catch {
      values = []
    }
  }
  return { name: family.name, help: family.help, type: family.type, values, aggregator: family.aggregator }
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
    /** What it reads and how. @internal */
    readonly spec: FamilySpec<T>,
    /** Its collector's guard, shared by the collector's families. @internal */
    readonly guard: CollectorGuard<T>,
  ) {
    this.help = spec.help
    this.type = spec.type
  }

  /** A histogram's bucket label objects per frozen labels object (see {@link seriesOf}). @internal */
  readonly bucketLabels = new WeakMap<object, readonly Labels[]>()

  /** The family's series for this scrape (JSON, the cluster aggregator); none when the collector failed. */
  async get(): Promise<FamilyData> {
    return readFamily(this, null)
  }

  /**
   * The same series for prom-client's text and OpenMetrics formats, which call this instead of
   * `get()`: frozen labels travel as `sharedLabels`, which prom-client formats once per object.
   */
  async getForPromString(): Promise<FamilyData> {
    return readFamily(this, this.bucketLabels)
  }

  /** Nothing to reset: values are read at scrape time. */
  reset(): void {}
}

/** One unlabelled value, or no series when it is null. */
export function single(value: number | null | undefined): FamilyValue[] {
  return value === null || value === undefined ? [] : [{ value, labels: {} }]
}

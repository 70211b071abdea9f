/** A label set and its value, as prom-client's registry formats it. */
export interface FamilyValue {
  readonly value: number
  readonly labels: Record<string, string>
}

/** One labelled histogram: observations per bucket (not cumulative; one per bound), their sum and count. */
export interface HistogramValue {
  readonly labels: Record<string, string>
  /** Observations that fell in each bucket (at most its bound, above the previous one). */
  readonly counts: readonly number[]
  readonly sum: number
  /** All observations, those above the last bound too. */
  readonly count: number
}

/** A family of series read from its collector's source at scrape time (gauge or counter). */
export interface ValueFamilySpec<T> {
  /** Name without the prefix, snake_case with its unit: `heap_snapshots_total`. */
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter'
  /** The series of one scrape; an empty array (or a throw) leaves the family without series. */
  readonly values: (source: T) => FamilyValue[]
}

/** A histogram read at scrape time: the source keeps the bucket counts, the family formats them. */
export interface HistogramFamilySpec<T> {
  readonly name: string
  readonly help: string
  readonly type: 'histogram'
  /** Upper bounds of the buckets, ascending; `+Inf` is added. */
  readonly buckets: readonly number[]
  readonly values: (source: T) => HistogramValue[]
}

/** One family of a collector. */
export type FamilySpec<T> = ValueFamilySpec<T> | HistogramFamilySpec<T>

/**
 * The open collector contract (prom-client's `lib/metrics/*`: one collector per file). A
 * capability hands its collectors to the kit, which registers every one through the same guard:
 * `read()` runs once per scrape, shared by all its families; if it throws, rejects or takes longer
 * than `collectorTimeoutMs`, its families have no series in that scrape and
 * `oomkit_collector_errors_total{collector=name}` counts it. A collector can never fail a scrape.
 *
 * @example
 * export const queueCollector = (queue: Queue) => defineCollector({
 *   name: 'queue',
 *   read: () => ({ depth: queue.length }),
 *   families: [{ name: 'queue_depth', help: 'Jobs waiting.', type: 'gauge', values: (s) => single(s.depth) }],
 * })
 */
export interface Collector<T = unknown> {
  /** The `collector` label of `oomkit_collector_errors_total`. */
  readonly name: string
  /** Reads the source once per scrape. */
  read(): T | Promise<T>
  readonly families: readonly FamilySpec<T>[]
}

/** Declares a collector (an identity function that lets TypeScript infer the source type once). */
export function defineCollector<T>(collector: Collector<T>): Collector<T> {
  return collector
}

/** The full metric names a collector registers under `prefix`, for docs and tests (no scrape needed). */
export function collectorMetricNames(collector: AnyCollector, prefix = 'oomkit_'): string[] {
  return collector.families.map((f) => `${prefix}${f.name}`)
}

/** A collector of any source type, as lists of collectors hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCollector = Collector<any>

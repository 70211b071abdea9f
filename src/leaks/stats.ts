/** Upper bounds (seconds) of `oomkit_resource_hold_seconds`: from a fast query to a connection kept for half an hour. */
export const HOLD_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800])

/** Upper bounds (seconds) of `oomkit_pool_acquire_wait_seconds`. */
export const WAIT_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30])

/** Most distinct (kind, pool) rows; past it new pools of a kind share the row `pool="(other)"`. */
export const MAX_ROWS = 500

/** The label a pool gets once {@link MAX_ROWS} rows exist. */
export const OTHER_POOL = '(other)'

/**
 * A histogram kept as plain numbers (per-bucket counts, not cumulative), read by the collector at
 * scrape time: observing is a few comparisons and an increment, never a prom-client call.
 */
export class Histogram {
  /** Observations per bucket (not cumulative). */
  readonly counts: number[]
  /** Sum of the observations, seconds. */
  sum = 0
  /** Observations, those above the last bound too. */
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0)
  }

  /** Counts one observation. */
  observe(seconds: number): void {
    this.sum += seconds
    this.count++
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1
        return
      }
    }
  }
}

/** The counters of one (kind, pool): the series of `oomkit_resources_*` and `oomkit_resource_*`. */
export class ResourceRow {
  /** Acquired and not released. */
  open = 0
  /** Acquired in all. */
  acquired = 0
  /** Released in all. */
  released = 0
  /** Leases reported: held past their threshold, or garbage-collected while leased (each lease once). */
  leaks = 0
  /** How long released resources were held. */
  readonly hold = new Histogram(HOLD_BUCKETS)

  constructor(
    readonly kind: string,
    readonly pool: string,
  ) {}
}

/** Every (kind, pool) row, bounded by {@link MAX_ROWS}. Two map lookups per `row()`; no string building. */
export class ResourceRows {
  readonly #byKind = new Map<string, Map<string, ResourceRow>>()
  #size = 0

  /** The row of (kind, pool), created on first use. */
  row(kind: string, pool: string): ResourceRow {
    let pools = this.#byKind.get(kind)
    if (pools === undefined) {
      pools = new Map()
      this.#byKind.set(kind, pools)
    }
    const found = pools.get(pool)
    if (found !== undefined) return found
    const label = this.#size < MAX_ROWS ? pool : OTHER_POOL
    let row = pools.get(label)
    if (row === undefined) {
      row = new ResourceRow(kind, label)
      pools.set(label, row)
      this.#size++
    }
    return row
  }

  /** Every row, kinds and pools in creation order. */
  all(): ResourceRow[] {
    const out: ResourceRow[] = []
    for (const pools of this.#byKind.values()) for (const row of pools.values()) out.push(row)
    return out
  }
}

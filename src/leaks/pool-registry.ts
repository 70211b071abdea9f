import { OomkitError } from '../errors.js'
import { boolOption, checkKeys, invalidOption } from '../options/validate.js'
import { thresholdOption } from './options.js'
import { type PoolAdapter, type PoolGauges, type PoolKind, detectPool, trackGenericPool, trackMysql2, trackPg } from './pools/index.js'
import type { ResourceRow } from './stats.js'
import type { LeakTracker } from './tracker.js'

/** Options of `kit.leaks.trackPool(pool, options)`. */
export interface TrackPoolOptions {
  /** The `pool` label of its series and reports (1 to 100 characters). @default the library: "pg", "mysql2" or "generic-pool" */
  name?: string
  /** This pool's hold threshold in ms (same bounds as `leaks.holdThresholdMs`). @default leaks.holdThresholdMs */
  holdThresholdMs?: number
  /** Capture acquisition stacks for this pool's checkouts. @default leaks.captureStacks */
  captureStacks?: boolean
}

/** A pool being tracked, as `trackPool` returns it. */
export interface TrackedPool {
  readonly name: string
  readonly kind: PoolKind
  /** Stops tracking it and restores the pool object as it was. Idempotent. */
  untrack(): void
}

/** One tracked pool's numbers, for the report and the metrics. */
export interface PoolSummary extends PoolGauges {
  readonly name: string
  readonly kind: PoolKind
  /** How its checkouts are observed (a `diagnostics_channel` or the instance methods wrapped). */
  readonly via: string
  readonly holdThresholdMs: number
  /** Checked out now, as the tracker counts them. */
  readonly open: number
  readonly acquired: number
  readonly released: number
  readonly leaks: number
  /** Acquires that timed out waiting for a connection (pg `connectionTimeoutMillis`, generic-pool `acquireTimeoutMillis`). */
  readonly acquireTimeouts: number
  /** Acquires that finished (connection or error), and the seconds they waited in total. */
  readonly acquireWait: { readonly count: number; readonly sumSeconds: number }
}

interface Entry {
  readonly name: string
  readonly adapter: PoolAdapter
  readonly row: ResourceRow
  readonly threshold: number
}

const POOL_OPTION_KEYS = new Set(['name', 'holdThresholdMs', 'captureStacks'])

/** The pools `trackPool` installed, by pool object; names are unique. */
export class PoolRegistry {
  readonly #entries = new Map<object, Entry>()

  constructor(
    private readonly tracker: LeakTracker,
    private readonly defaults: { readonly holdThresholdMs: number; readonly captureStacks: boolean; readonly testClock: boolean },
  ) {}

  /** Tracks a pg, mysql2 or generic-pool pool (see `kit.leaks.trackPool`). */
  track(pool: unknown, options: unknown = {}): TrackedPool {
    const o = checkKeys('trackPool options', options, POOL_OPTION_KEYS)
    const { kind, target } = detectPool(pool)
    const name = o.name === undefined ? kind : o.name
    if (typeof name !== 'string' || name.length === 0 || name.length > 100) invalidOption('trackPool options.name', 'a string of 1 to 100 characters', name)
    const threshold = thresholdOption('trackPool options.holdThresholdMs', o.holdThresholdMs, this.defaults.holdThresholdMs, this.defaults.testClock)
    const captureStacks = boolOption('trackPool options.captureStacks', o.captureStacks, this.defaults.captureStacks)
    const existing = this.#entries.get(target)
    if (existing !== undefined)
      throw new OomkitError('OOMKIT_INVALID_OPTION', `kit.leaks.trackPool: this pool is tracked already, as ${JSON.stringify(existing.name)}`)
    if ([...this.#entries.values()].some((e) => e.name === name)) {
      throw new OomkitError('OOMKIT_INVALID_OPTION', `kit.leaks.trackPool: a pool named ${JSON.stringify(name)} is tracked already; give this one another name`)
    }
    const row = this.tracker.rows.row(kind, name)
    const ctx = { tracker: this.tracker, row, threshold, captureStacks }
    const adapter =
      kind === 'pg' ? trackPg(target as never, ctx) : kind === 'mysql2' ? trackMysql2(target as never, ctx) : trackGenericPool(target as never, ctx)
    this.#entries.set(target, { name, adapter, row, threshold })
    return { name, kind, untrack: () => void this.untrack(target) }
  }

  /** Stops tracking a pool (the object given to `track`, or a mysql2 promise pool's core); false when it was not tracked. */
  untrack(pool: unknown): boolean {
    let target: object | null = null
    try {
      target = detectPool(pool).target
    } catch {
      target = pool !== null && typeof pool === 'object' ? pool : null
    }
    const entry = target === null ? undefined : this.#entries.get(target)
    if (target === null || entry === undefined) return false
    this.#entries.delete(target)
    entry.adapter.uninstall()
    return true
  }

  /** Untracks every pool. */
  clear(): void {
    for (const [target, entry] of [...this.#entries]) {
      this.#entries.delete(target)
      entry.adapter.uninstall()
    }
  }

  /** Every tracked pool's numbers, read now. A gauge that throws reads as unknown. */
  summaries(): PoolSummary[] {
    return [...this.#entries.values()].map(({ name, adapter, row, threshold }) => {
      let gauges: PoolGauges = { size: null, idle: null, waiting: null, max: null }
      try {
        gauges = adapter.gauges()
      } catch {
        // a library's internals moved: the gauges are unknown, the rest still counts
      }
      const wait = adapter.checkouts.wait
      return {
        name,
        kind: adapter.kind,
        via: adapter.via,
        holdThresholdMs: threshold,
        ...gauges,
        open: row.open,
        acquired: row.acquired,
        released: row.released,
        leaks: row.leaks,
        acquireTimeouts: adapter.checkouts.timeouts,
        acquireWait: { count: wait.count, sumSeconds: wait.sum },
      }
    })
  }

  /** Each tracked pool's wait histogram, for the metrics. */
  waits(): { name: string; kind: PoolKind; counts: readonly number[]; sum: number; count: number }[] {
    return [...this.#entries.values()].map(({ name, adapter }) => ({
      name,
      kind: adapter.kind,
      counts: adapter.checkouts.wait.counts,
      sum: adapter.checkouts.wait.sum,
      count: adapter.checkouts.wait.count,
    }))
  }
}

import type { Lease } from '../lease.js'
import { type StackHolder, captureStack } from '../stack.js'
import { Histogram, type ResourceRow, WAIT_BUCKETS } from '../stats.js'
import type { LeakTracker } from '../tracker.js'

/** The pool libraries `trackPool` understands. */
export type PoolKind = 'pg' | 'mysql2' | 'generic-pool'

/** A pool's own counts, read at scrape time (null where the library does not say). */
export interface PoolGauges {
  /** Connections (resources) the pool holds, idle or checked out. */
  readonly size: number | null
  readonly idle: number | null
  /** Callers waiting for one. */
  readonly waiting: number | null
  /** The pool's configured maximum. */
  readonly max: number | null
}

/** What every pool adapter is given. */
export interface PoolContext {
  readonly tracker: LeakTracker
  readonly row: ResourceRow
  readonly threshold: number
  readonly captureStacks: boolean
}

/** A tracked pool, as the adapters install it. */
export interface PoolAdapter {
  readonly kind: PoolKind
  /** How its checkouts are seen, for the report: `diagnostics_channel` or the methods wrapped. */
  readonly via: string
  readonly checkouts: Checkouts
  gauges(): PoolGauges
  /** Restores the pool as it was. */
  uninstall(): void
}

/** A number when it is a finite number, else null (a library's private field that moved). */
export function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/**
 * The checkouts of one pool: resource → its current lease (weakly, never deleted: a pooled
 * resource is checked out again and again, and overwriting its entry is far cheaper than
 * deleting and re-adding it), acquire wait times and timeouts. A release of a resource it never
 * saw checked out (taken before tracking began, or released twice) is ignored.
 */
export class Checkouts {
  /** How long acquires waited for a connection. */
  readonly wait = new Histogram(WAIT_BUCKETS)
  /** Acquires that timed out waiting. */
  timeouts = 0
  readonly #leases = new WeakMap<object, Lease>()

  constructor(readonly ctx: PoolContext) {}

  /** The stack for an acquire starting now in `above`, when stacks are on. */
  site(above: (...args: never[]) => unknown, depth?: number): StackHolder | null {
    return this.ctx.captureStacks ? captureStack(above, depth) : null
  }

  /**
   * An acquire that started at `startedAt` (`performance.now()`: waits are real time, even under a
   * test clock) finished: `resource` on success; `timedOut` when the library gave up waiting.
   */
  acquired(resource: unknown, holder: StackHolder | null, startedAt: number, timedOut: boolean): void {
    const waited = performance.now() - startedAt
    this.wait.observe(waited > 0 ? waited / 1000 : 0)
    if (timedOut) this.timeouts++
    if (resource === null || (typeof resource !== 'object' && typeof resource !== 'function')) return
    const previous = this.#leases.get(resource)
    // Checked out again without a release we saw: the old lease ended when the pool took it back.
    if (previous !== undefined && !previous.released) this.ctx.tracker.end(previous)
    this.#leases.set(resource, this.ctx.tracker.open(this.ctx.row, resource, this.ctx.threshold, holder, undefined, false))
  }

  /** A resource went back to the pool (or was destroyed). */
  released(resource: unknown): void {
    if (resource === null || (typeof resource !== 'object' && typeof resource !== 'function')) return
    const lease = this.#leases.get(resource)
    if (lease !== undefined) this.ctx.tracker.end(lease)
  }
}

/** Replaces `obj[key]` with `replacement` as an own property; returns what puts it back. */
export function patch<T extends object, K extends keyof T>(obj: T, key: K, replacement: T[K]): () => void {
  const own = Object.prototype.hasOwnProperty.call(obj, key)
  const original = obj[key]
  obj[key] = replacement
  return () => {
    if (obj[key] !== replacement) return
    if (own) obj[key] = original
    else delete obj[key]
  }
}

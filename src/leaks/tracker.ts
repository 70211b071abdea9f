import type { OomkitLogger } from '../logging/logger.js'
import { COLLECTED, type LeakReport, Lease, OPEN, RELEASED, describeLease, siteText } from './lease.js'
import type { StackHolder } from './stack.js'
import { type ResourceRow, ResourceRows } from './stats.js'

/** Most garbage-collected leases kept for `/debug/leaks` (the newest). */
export const COLLECTED_KEPT = 50

/** What the tracker needs. */
export interface TrackerDeps {
  readonly maxTracked: number
  readonly clock: () => number
  readonly logger: OomkitLogger
  /** Called for every lease reported (held past its threshold, or collected). */
  readonly onLeak: (report: LeakReport) => void
}

/**
 * The lease tracker behind `kit.leaks`: HikariCP's leak detection, for any resource. A lease costs
 * a clock read, a Map insertion and a FinalizationRegistry registration at acquire, the same
 * removed at release; the stack is captured by the caller (or not) and formatted only when the
 * lease is reported. Reporting is a scan of the tracked set, oldest first, that stops at the
 * first lease younger than the smallest threshold in use.
 */
export class LeakTracker {
  /** The counters per (kind, pool). */
  readonly rows = new ResourceRows()
  /** Releases of an already released lease. */
  doubleReleases = 0
  /** Leases counted but not tracked because `maxTracked` were already. */
  overflow = 0
  /** The clock, epoch ms (a test clock may be injected). */
  readonly now: () => number
  readonly #deps: TrackerDeps
  /** Open tracked leases by id, in acquisition order. */
  readonly #open = new Map<number, Lease>()
  readonly #registry: FinalizationRegistry<number>
  #nextId = 0
  readonly #collected: LeakReport[] = []
  #minThreshold = Infinity
  #warnedDouble = false
  #warnedOverflow = false
  #stopped = false

  constructor(deps: TrackerDeps) {
    this.#deps = deps
    this.now = deps.clock
    this.#registry = new FinalizationRegistry((id) => {
      const lease = this.#open.get(id)
      if (lease !== undefined) this.#onCollected(lease)
    })
  }

  /** Leases tracked now. */
  get tracked(): number {
    return this.#open.size
  }

  /**
   * Opens a lease on `resource` in `row`. `threshold` in ms (Infinity: counted, never reported);
   * `holder` is the stack the caller captured, or null. An object resource is watched for being
   * garbage-collected while leased, unless `watch` is false (a pool's connections: the pool
   * references them all, so they are never collected while it lives; the watch would only cost).
   */
  open(row: ResourceRow, resource: unknown, threshold: number, holder: StackHolder | null, meta?: Readonly<Record<string, unknown>>, watch = true): Lease {
    const lease = new Lease(this, row, this.now(), threshold, holder, meta)
    row.open++
    row.acquired++
    if (this.#stopped) {
      lease.tracked = false
      return lease
    }
    if (this.#open.size >= this.#deps.maxTracked) {
      lease.tracked = false
      this.#overflowed(row)
      return lease
    }
    const id = ++this.#nextId
    lease.id = id
    this.#open.set(id, lease)
    if (threshold < this.#minThreshold) this.#minThreshold = threshold
    if (watch && ((typeof resource === 'object' && resource !== null) || typeof resource === 'function')) {
      const token = {}
      this.#registry.register(resource, id, token)
      lease.token = token
    }
    return lease
  }

  /** Ends a lease; a second release is counted and warned about once. */
  release(lease: Lease): void {
    if (lease.state !== OPEN) {
      if (lease.state === RELEASED) this.#doubleRelease(lease)
      return
    }
    this.end(lease)
  }

  /** Ends a lease if it is open, silently otherwise (adapters that see several end signals). */
  end(lease: Lease): void {
    if (lease.state !== OPEN) return
    lease.state = RELEASED
    const heldMs = this.now() - lease.t0
    const row = lease.row
    row.open--
    row.released++
    row.hold.observe(heldMs > 0 ? heldMs / 1000 : 0)
    if (!lease.tracked) return
    this.#open.delete(lease.id)
    if (lease.token !== null) this.#registry.unregister(lease.token)
    if (lease.reported) {
      this.#deps.logger.info(
        { kind: row.kind, pool: row.pool, heldMs: Math.round(heldMs), site: siteText(lease.stack().site) },
        'previously reported connection released (unleaked)',
      )
    }
  }

  /** Reports, once each, the leases held past their threshold; returns the ones reported now. */
  check(): LeakReport[] {
    const out: LeakReport[] = []
    if (this.#stopped) return out
    const now = this.now()
    for (const lease of this.#open.values()) {
      const age = now - lease.t0
      // The set is in acquisition order: nothing after a lease younger than every threshold is due.
      if (age < this.#minThreshold) break
      if (lease.reported || age < lease.threshold) continue
      lease.reported = true
      lease.row.leaks++
      const report = describeLease(lease, 'held', now)
      this.#deps.logger.warn(logFields(report), 'connection held past threshold')
      out.push(report)
      this.#deps.onLeak(report)
    }
    return out
  }

  /** Leases past their threshold now (reported or not yet), oldest first, at most `limit`. */
  pastThreshold(limit: number): { count: number; leases: LeakReport[] } {
    const now = this.now()
    const leases: LeakReport[] = []
    let count = 0
    for (const lease of this.#open.values()) {
      const age = now - lease.t0
      if (age < this.#minThreshold) break
      if (age < lease.threshold) continue
      count++
      if (leases.length < limit) leases.push(describeLease(lease, 'held', now))
    }
    return { count, leases }
  }

  /** The oldest open lease's age per row (ms), for the per-pool table. */
  oldestAges(): Map<ResourceRow, number> {
    const now = this.now()
    const out = new Map<ResourceRow, number>()
    for (const lease of this.#open.values()) if (!out.has(lease.row)) out.set(lease.row, Math.max(0, Math.round(now - lease.t0)))
    return out
  }

  /** The newest leases whose resource was garbage-collected while leased, newest last. */
  collected(): readonly LeakReport[] {
    return this.#collected
  }

  /** Forgets every tracked lease; later releases only count. Nothing is reported after this. */
  stop(): void {
    this.#stopped = true
    for (const lease of this.#open.values()) {
      lease.tracked = false
      if (lease.token !== null) this.#registry.unregister(lease.token)
    }
    this.#open.clear()
  }

  #onCollected(lease: Lease): void {
    if (this.#stopped || lease.state !== OPEN) return
    lease.state = COLLECTED
    const row = lease.row
    row.open--
    if (!lease.reported) row.leaks++
    lease.reported = true
    this.#open.delete(lease.id)
    const report = describeLease(lease, 'collected', this.now())
    if (this.#collected.push(report) > COLLECTED_KEPT) this.#collected.shift()
    this.#deps.logger.warn(logFields(report), 'connection garbage-collected while still held: it was never released')
    this.#deps.onLeak(report)
  }

  #doubleRelease(lease: Lease): void {
    this.doubleReleases++
    if (this.#warnedDouble) return
    this.#warnedDouble = true
    this.#deps.logger.warn(
      { kind: lease.kind, pool: lease.pool, site: siteText(lease.stack().site) },
      'a lease was released twice; the second release is ignored (counted in the leaks report as doubleReleases, warned once)',
    )
  }

  #overflowed(row: ResourceRow): void {
    this.overflow++
    if (this.#warnedOverflow) return
    this.#warnedOverflow = true
    this.#deps.logger.warn(
      { kind: row.kind, pool: row.pool, maxTracked: this.#deps.maxTracked },
      `oomkit is tracking leases.maxTracked (${this.#deps.maxTracked}) leases: further ones are counted but not tracked (counted in the leaks report as overflow, warned once)`,
    )
  }
}

function logFields(r: LeakReport): Record<string, unknown> {
  return {
    kind: r.kind,
    pool: r.pool,
    ageMs: r.ageMs,
    holdThresholdMs: r.holdThresholdMs,
    site: siteText(r.site),
    stack: r.stack,
    via: r.via,
    ...(r.meta === undefined ? {} : { meta: r.meta }),
  }
}

import { OomkitError, describeValue } from '../errors.js'
import type { OomkitLogger } from '../logging/logger.js'
import { checkKeys, invalidOption } from '../options/validate.js'
import { type LeakReport, Lease } from './lease.js'
import { type ResolvedLeaksOptions, thresholdOption } from './options.js'
import { type PoolSummary, PoolRegistry, type TrackPoolOptions, type TrackedPool } from './pool-registry.js'
import { detectPool } from './pools/index.js'
import { SocketTracking } from './sockets.js'
import { captureStack } from './stack.js'
import { ResourceRow } from './stats.js'
import { LeakTracker } from './tracker.js'

/** Options of `kit.leaks.acquire(kind, resource, options)`. */
export interface AcquireOptions {
  /** The `pool` label (a pool's name, a remote `host:port`). @default "default" */
  pool?: string
  /** Shown with the lease in reports and log lines, as given (keep it small, and free of secrets). */
  meta?: Readonly<Record<string, unknown>>
  /** This lease's threshold in ms (same bounds as `leaks.holdThresholdMs`). @default leaks.holdThresholdMs */
  holdThresholdMs?: number
}

/** One (kind, pool) of the tracker: what `oomkit_resources_*` shows, and the oldest open lease. */
export interface ResourceSummary {
  readonly kind: string
  readonly pool: string
  readonly open: number
  readonly acquired: number
  readonly released: number
  readonly leaks: number
  /** Age of the oldest open tracked lease, ms, or null when none is open. */
  readonly oldestAgeMs: number | null
}

/** The report's `leaks` section and the body of `GET /debug/leaks`. */
export interface LeaksReport {
  /** Whether the instance is started (the threshold check and socket tracking run). */
  readonly running: boolean
  readonly holdThresholdMs: number
  /** Leases open now (tracked or only counted). */
  readonly open: number
  /** Leases tracked now (at most `maxTracked`). */
  readonly tracked: number
  readonly maxTracked: number
  /** Leases counted but not tracked because `maxTracked` were. */
  readonly overflow: number
  /** Releases of leases already released. */
  readonly doubleReleases: number
  /** Leases held past their threshold now. */
  readonly leaked: number
  /** Those leases, oldest first (at most the limit asked for). */
  readonly leases: readonly LeakReport[]
  /** The newest leases whose resource was garbage-collected without a release. */
  readonly collected: readonly LeakReport[]
  readonly pools: readonly PoolSummary[]
  readonly resources: readonly ResourceSummary[]
}

const ACQUIRE_KEYS = new Set(['pool', 'meta', 'holdThresholdMs'])

/**
 * `kit.leaks`: HikariCP-style leak detection for any resource, for pg, mysql2 and generic-pool
 * pools, and for outgoing sockets and HTTP requests. With `leaks: false` it counts nothing and
 * tracks nothing, but every method still works (so code that uses it needs no branch).
 *
 * @example
 * kit.leaks.trackPool(pgPool, { name: 'pg' })
 * const lease = kit.leaks.acquire('ldap', conn, { pool: 'directory' }); try { ... } finally { lease.release() }
 */
export class LeakTracking {
  /** Whether tracking is on (`leaks` is not false). */
  readonly enabled: boolean
  readonly #options: ResolvedLeaksOptions | null
  readonly #tracker: LeakTracker
  readonly #pools: PoolRegistry
  readonly #sockets: SocketTracking | null
  #timer: NodeJS.Timeout | null = null
  #running = false

  constructor(options: ResolvedLeaksOptions | false, logger: OomkitLogger, onLeak: (report: LeakReport) => void) {
    this.enabled = options !== false
    this.#options = options === false ? null : options
    const o = options === false ? null : options
    this.#tracker = new LeakTracker({ maxTracked: o?.maxTracked ?? 1, clock: o?.clock ?? (() => performance.now()), logger, onLeak })
    if (o === null) this.#tracker.stop()
    this.#pools = new PoolRegistry(this.#tracker, {
      holdThresholdMs: o?.holdThresholdMs ?? 30_000,
      captureStacks: o?.captureStacks ?? false,
      testClock: o?.clock !== null && o?.clock !== undefined,
    })
    this.#sockets = o?.sockets === true ? new SocketTracking(this.#tracker, o.holdThresholdMs, o.captureStacks) : null
  }

  /**
   * Starts a lease on `resource` (any value; objects are also watched for being garbage-collected
   * while leased). End it with `lease.release()`.
   */
  acquire(kind: string, resource: unknown, options?: AcquireOptions): Lease {
    if (typeof kind !== 'string' || kind.length === 0 || kind.length > 100) invalidOption('kit.leaks.acquire kind', 'a string of 1 to 100 characters', kind)
    let pool = 'default'
    let meta: AcquireOptions['meta']
    let thresholdMs: unknown
    if (options !== undefined) {
      // The hot path: checked without allocating (no Object.keys), checkKeys only for the message.
      if (options === null || typeof options !== 'object' || Object.getPrototypeOf(options) !== Object.prototype)
        checkKeys('kit.leaks.acquire options', options, ACQUIRE_KEYS)
      for (const key in options) if (!ACQUIRE_KEYS.has(key)) checkKeys('kit.leaks.acquire options', options, ACQUIRE_KEYS)
      if (options.pool !== undefined) pool = options.pool
      meta = options.meta
      thresholdMs = options.holdThresholdMs
    }
    if (typeof pool !== 'string' || pool.length === 0 || pool.length > 200)
      invalidOption('kit.leaks.acquire options.pool', 'a string of 1 to 200 characters', pool)
    if (meta !== undefined && (meta === null || typeof meta !== 'object')) invalidOption('kit.leaks.acquire options.meta', 'an object', meta)
    const opts = this.#options
    if (opts === null) return new Lease(NOT_TRACKING, new ResourceRow(kind, pool), 0, Infinity, null, undefined)
    const threshold =
      thresholdMs === undefined
        ? opts.holdThresholdMs
        : thresholdOption('kit.leaks.acquire options.holdThresholdMs', thresholdMs, opts.holdThresholdMs, opts.clock !== null)
    // Frames from this method up are left out: the caller's frame comes first.
    const holder = opts.captureStacks ? captureStack(LeakTracking.prototype.acquire) : null
    return this.#tracker.open(this.#tracker.rows.row(kind, pool), resource, threshold, holder, meta)
  }

  /**
   * Tracks a pool's checkouts: a `pg.Pool`, a mysql2 pool (callback or promise API) or a
   * generic-pool `Pool`. Anything else throws `OOMKIT_UNSUPPORTED_POOL` naming what is supported.
   *
   * @example
   * kit.leaks.trackPool(new pg.Pool(), { name: 'pg', holdThresholdMs: 30_000 })
   */
  trackPool(pool: object, options?: TrackPoolOptions): TrackedPool {
    if (this.#options === null) {
      // Off: the same answer (and the same refusal of a non-pool), nothing installed.
      const { kind } = detectPool(pool)
      return { name: options?.name ?? kind, kind, untrack() {} }
    }
    return this.#pools.track(pool, options)
  }

  /** Stops tracking a pool and restores it; false when it was not tracked. */
  untrackPool(pool: object): boolean {
    return this.#pools.untrack(pool)
  }

  /** Reports now (once each) the leases past their threshold; returns those reported by this call. */
  check(): LeakReport[] {
    return this.#tracker.check()
  }

  /** The tracker's report: leases past their threshold (oldest first, at most `limit`), pools, counts. */
  report(limit = 100): LeaksReport {
    if (!Number.isInteger(limit) || limit < 0)
      throw new OomkitError('OOMKIT_INVALID_OPTION', `kit.leaks.report(limit): expected a whole number, got ${describeValue(limit)}`)
    const t = this.#tracker
    const past = t.pastThreshold(limit)
    const oldest = t.oldestAges()
    const rows = t.rows.all()
    return {
      running: this.#running,
      holdThresholdMs: this.#options?.holdThresholdMs ?? 0,
      open: rows.reduce((n, r) => n + r.open, 0),
      tracked: t.tracked,
      maxTracked: this.#options?.maxTracked ?? 0,
      overflow: t.overflow,
      doubleReleases: t.doubleReleases,
      leaked: past.count,
      leases: past.leases,
      collected: [...t.collected()],
      pools: this.#pools.summaries(),
      resources: rows.map((r) => ({
        kind: r.kind,
        pool: r.pool,
        open: r.open,
        acquired: r.acquired,
        released: r.released,
        leaks: r.leaks,
        oldestAgeMs: oldest.get(r) ?? null,
      })),
    }
  }

  /** @internal The tracker and the pools, for the collector. */
  get internals(): { tracker: LeakTracker; pools: PoolRegistry } {
    return { tracker: this.#tracker, pools: this.#pools }
  }

  /** @internal Starts the threshold check and the socket tracking. */
  start(): void {
    if (this.#options === null || this.#running) return
    this.#running = true
    this.#sockets?.start()
    this.#timer = setInterval(() => this.#tracker.check(), this.#options.checkIntervalMs)
    this.#timer.unref()
  }

  /** @internal Stops everything, untracks every pool and forgets every lease. */
  stop(): void {
    this.#running = false
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#sockets?.stop()
    this.#pools.clear()
    this.#tracker.stop()
  }
}

const NOT_TRACKING = Object.freeze({ release() {} })

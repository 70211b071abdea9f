import { type FormattedStack, type StackFrame, type StackHolder, formatStack } from './stack.js'
import type { ResourceRow } from './stats.js'

/** Lease states. */
/** Held now. */
export const OPEN = 0
/** Released by the caller. */
export const RELEASED = 1
/** Garbage-collected while still leased. */
export const COLLECTED = 2

/** What ends a lease: the tracker's release (kept as an interface so a lease does not import the tracker). */
export interface LeaseOwner {
  release(lease: Lease): void
}

/**
 * One acquired resource, from `kit.leaks.acquire()` (or a tracked pool's checkout) until
 * `release()`. It never references the resource itself, so a resource dropped without release is
 * still garbage-collected (and then reported).
 *
 * @example
 * const lease = kit.leaks.acquire('ldap', conn, { pool: 'directory' })
 * try { await conn.search(q) } finally { lease.release() }
 */
export class Lease {
  /** @internal When it was acquired, in the tracker's clock (ms). */
  readonly t0: number
  /** @internal Past this age (ms) it is reported; Infinity: counted, never reported. */
  readonly threshold: number
  /** @internal OPEN, RELEASED or COLLECTED. */
  state: number = OPEN
  /** @internal Reported as held past its threshold. */
  reported = false
  /** @internal In the tracked set (false past `maxTracked`: counted only). */
  tracked = true
  /** @internal Its number in the tracker's open map (the FinalizationRegistry's held value). */
  id = 0
  /**
   * @internal The FinalizationRegistry's unregister token, when registered: a bare object, so
   * that nothing the registry holds reaches the stack (measured: 1.5–2× the cost of the capture).
   */
  token: object | null = null
  /** @internal The stack, formatted on first report. */
  formatted: FormattedStack | null = null

  constructor(
    /** @internal */ readonly owner: LeaseOwner,
    /** @internal */ readonly row: ResourceRow,
    t0: number,
    threshold: number,
    /** @internal */ readonly holder: StackHolder | null,
    /** What the caller attached at acquire (shown in reports as given). */
    readonly meta: Readonly<Record<string, unknown>> | undefined,
  ) {
    this.t0 = t0
    this.threshold = threshold
  }

  /** The kind given at acquire (`pg`, `socket`, ...). */
  get kind(): string {
    return this.row.kind
  }

  /** The pool label (a pool's name, a socket's `host:port`). */
  get pool(): string {
    return this.row.pool
  }

  /** Whether it has ended (released, or its resource was garbage-collected). */
  get released(): boolean {
    return this.state !== OPEN
  }

  /** Ends the lease. A second call is a no-op (counted, and warned about once per instance). */
  release(): void {
    this.owner.release(this)
  }

  /** @internal The acquisition stack, formatted once. */
  stack(): FormattedStack {
    this.formatted ??= formatStack(this.holder)
    return this.formatted
  }
}

/** A lease past its threshold, or one whose resource was garbage-collected while leased. */
export interface LeakReport {
  /** `held`: still held past the threshold; `collected`: garbage-collected without a release. */
  readonly reason: 'held' | 'collected'
  readonly kind: string
  readonly pool: string
  /** How long it has been (or was) held, ms. */
  readonly ageMs: number
  /** Its threshold in ms, or null for kinds that are counted but never reported (sockets). */
  readonly holdThresholdMs: number | null
  /** When it was acquired (ISO 8601, from the wall clock). */
  readonly acquiredAt: string
  /** The innermost frame of the user's code at acquire, or null (stacks off, or none is the user's). */
  readonly site: StackFrame | null
  /** The acquisition stack: user frames as `fn (file:line:col)`, library and node frames folded. */
  readonly stack: readonly string[]
  /** Packages between the user's code and the acquire (e.g. `pg-pool`). */
  readonly via: readonly string[]
  readonly meta?: Readonly<Record<string, unknown>>
}

/** A lease as a report, at `now` (tracker clock). */
export function describeLease(lease: Lease, reason: LeakReport['reason'], now: number): LeakReport {
  const ageMs = Math.max(0, Math.round(now - lease.t0))
  const { site, stack, via } = lease.stack()
  const out: LeakReport = {
    reason,
    kind: lease.kind,
    pool: lease.pool,
    ageMs,
    holdThresholdMs: Number.isFinite(lease.threshold) ? lease.threshold : null,
    acquiredAt: new Date(Date.now() - ageMs).toISOString(),
    site,
    stack,
    via,
  }
  return lease.meta === undefined ? out : { ...out, meta: lease.meta }
}

/** `fn (file:line)` for a log line. */
export function siteText(site: StackFrame | null): string | null {
  return site === null ? null : `${site.function} (${site.file}:${site.line}:${site.column})`
}

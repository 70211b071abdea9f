import dc from 'node:diagnostics_channel'
import type { StackHolder } from '../stack.js'
import { type Checkouts as CheckoutsType, Checkouts, type PoolAdapter, type PoolContext, count, patch } from './common.js'

type Callback = (err: unknown, conn?: object) => unknown

/** The members of a mysql2 core pool (`createPool()`, or `.pool` of a promise pool) the adapter uses. */
interface Mysql2Pool {
  getConnection: (cb: Callback) => unknown
  releaseConnection: (conn: object) => unknown
  readonly config?: { connectionLimit?: unknown }
  readonly _allConnections?: { length?: unknown }
  readonly _freeConnections?: { length?: unknown }
  readonly _connectionQueue?: { length?: unknown }
}

/** mysql2's tracing channel around `pool.getConnection` (start in the caller's stack, asyncStart with the connection). */
export const MYSQL2_POOL_CONNECT = 'mysql2:pool:connect'

/** Frames captured at the channel's start: node's tracing frames and mysql2's sit between the caller and us. */
const CHANNEL_STACK_DEPTH = 24

const SITE = Symbol('oomkit.leaks.site')
const NOOP = (): void => {}
interface ConnectContext {
  result?: { _pool?: unknown }
  error?: unknown
  [SITE]?: { holder: StackHolder | null; startedAt: number }
}

/** Tracked core pools, for the one channel subscription they share. */
const tracked = new Map<object, CheckoutsType>()
let subscribed: dc.TracingChannelSubscribers<ConnectContext> | null = null

/** Whether this pool's `getConnection` publishes `mysql2:pool:connect` (mysql2 versions with `lib/tracing.js`). */
function publishesChannel(pool: Mysql2Pool): boolean {
  if (typeof dc.tracingChannel !== 'function') return false
  try {
    return /poolConnectChannel/.test(Function.prototype.toString.call(pool.getConnection))
  } catch {
    return false
  }
}

function subscribe(): void {
  if (subscribed !== null) return
  const channel = dc.tracingChannel<ConnectContext>(MYSQL2_POOL_CONNECT)
  subscribed = {
    start: function onMysql2Connect(ctx) {
      // Which pool is asking is known only when the connection arrives: take the stack when any
      // tracked pool wants stacks.
      let holder: StackHolder | null = null
      for (const checkouts of tracked.values()) {
        if (!checkouts.ctx.captureStacks) continue
        holder = checkouts.site(onMysql2Connect, CHANNEL_STACK_DEPTH)
        break
      }
      ctx[SITE] = { holder, startedAt: performance.now() }
    },
    asyncStart(ctx) {
      const site = ctx[SITE]
      const pool = ctx.result?._pool
      if (site === undefined || pool === undefined || pool === null) return
      const checkouts = tracked.get(pool as object)
      if (checkouts !== undefined && ctx.error == null) checkouts.acquired(ctx.result, checkouts.ctx.captureStacks ? site.holder : null, site.startedAt, false)
    },
    // The type wants all five; these three carry nothing the tracker needs.
    end: NOOP,
    asyncEnd: NOOP,
    error: NOOP,
  }
  channel.subscribe(subscribed)
}

function unsubscribe(): void {
  if (subscribed === null || tracked.size > 0) return
  const handlers = subscribed
  dc.tracingChannel<ConnectContext>(MYSQL2_POOL_CONNECT).unsubscribe(handlers)
  subscribed = null
}

/**
 * Tracks a mysql2 pool (its callback and promise APIs share the core pool). Where the installed
 * mysql2 publishes the `mysql2:pool:connect` tracing channel (3.x with `lib/tracing.js`), the
 * checkout is seen there: `start` runs in the caller's stack, `asyncStart` carries the connection
 * (whose `_pool` says which pool). Elsewhere the instance's `getConnection` is wrapped. mysql2
 * publishes nothing on release, so the instance's `releaseConnection` is wrapped: every
 * `conn.release()`, `conn.destroy()` and `pool.query`'s own release goes through it.
 */
export function trackMysql2(pool: Mysql2Pool, ctx: PoolContext): PoolAdapter {
  const checkouts = new Checkouts(ctx)
  const restores: (() => void)[] = []
  const viaChannel = publishesChannel(pool)
  if (viaChannel) {
    tracked.set(pool, checkouts)
    subscribe()
  } else {
    const original = pool.getConnection
    const trackedGetConnection = function trackedGetConnection(this: unknown, cb: Callback): unknown {
      const holder = checkouts.site(trackedGetConnection)
      const t0 = performance.now()
      return original.call(this, function onConnection(err, conn) {
        checkouts.acquired(err == null ? conn : null, holder, t0, false)
        return cb(err, conn)
      })
    }
    restores.push(patch(pool, 'getConnection', trackedGetConnection))
  }
  const release = pool.releaseConnection
  restores.push(
    patch(pool, 'releaseConnection', function trackedReleaseConnection(this: unknown, conn: object) {
      checkouts.released(conn)
      return release.call(this, conn)
    }),
  )
  return {
    kind: 'mysql2',
    via: viaChannel
      ? `diagnostics_channel ${MYSQL2_POOL_CONNECT}; releaseConnection wrapped on the instance`
      : 'getConnection and releaseConnection wrapped on the instance',
    checkouts,
    gauges: () => ({
      size: count(pool._allConnections?.length),
      idle: count(pool._freeConnections?.length),
      waiting: count(pool._connectionQueue?.length),
      max: count(pool.config?.connectionLimit),
    }),
    uninstall() {
      for (const restore of restores.reverse()) restore()
      tracked.delete(pool)
      unsubscribe()
    },
  }
}

import { Checkouts, type PoolAdapter, type PoolContext, count, patch } from './common.js'

/** The members of a `pg.Pool` (pg-pool 3) the adapter uses. */
interface PgPool {
  connect: (cb?: (err: Error | undefined, client?: object, done?: unknown) => unknown) => unknown
  on(event: 'release', listener: (err: unknown, client: object) => void): unknown
  removeListener(event: 'release', listener: (err: unknown, client: object) => void): unknown
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  readonly options?: { max?: unknown }
}

/** pg-pool's messages when `connectionTimeoutMillis` runs out (waiting in the queue, or connecting). */
const TIMEOUT = /timeout exceeded when trying to connect|connection timeout/i

function timedOut(err: unknown): boolean {
  return err instanceof Error && TIMEOUT.test(err.message)
}

/**
 * Tracks a `pg.Pool`'s checked-out clients. pg and pg-pool publish no `diagnostics_channel`
 * events (checked in pg 8.23 / pg-pool 3.14), so the checkout is seen by wrapping the instance's
 * `connect` (both the callback and the promise form, and `pool.query`, which calls it), where the
 * caller's stack is; the end by the pool's own `release` event, emitted for every client given
 * back (`client.release()`, `done()`, and `pool.query`'s own release). Nothing on the prototype changes.
 */
export function trackPg(pool: PgPool, ctx: PoolContext): PoolAdapter {
  const checkouts = new Checkouts(ctx)
  const original = pool.connect
  function trackedConnect(this: unknown, cb?: (err: Error | undefined, client?: object, done?: unknown) => unknown): unknown {
    const holder = checkouts.site(trackedConnect)
    const t0 = performance.now()
    if (typeof cb === 'function') {
      return original.call(this, function onConnect(err, client, done) {
        checkouts.acquired(err === undefined || err === null ? client : null, holder, t0, timedOut(err))
        return cb(err, client, done)
      })
    }
    // The promise form through the callback form: one promise (of the pool's Promise class), not pg's and a .then on it.
    const P = (this as { Promise?: PromiseConstructor } | null)?.Promise ?? Promise
    return new P<object>((resolve, reject) => {
      original.call(this, function onConnect(err, client) {
        const ok = err === undefined || err === null
        checkouts.acquired(ok ? client : null, holder, t0, timedOut(err))
        if (ok) resolve(client as object)
        else reject(err)
      })
    })
  }
  const restore = patch(pool, 'connect', trackedConnect as PgPool['connect'])
  const onRelease = (_err: unknown, client: object): void => checkouts.released(client)
  pool.on('release', onRelease)
  return {
    kind: 'pg',
    via: 'pool.connect wrapped on the instance; release event',
    checkouts,
    gauges: () => ({ size: count(pool.totalCount), idle: count(pool.idleCount), waiting: count(pool.waitingCount), max: count(pool.options?.max) }),
    uninstall() {
      pool.removeListener('release', onRelease)
      restore()
    },
  }
}

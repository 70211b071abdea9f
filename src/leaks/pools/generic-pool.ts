import { Checkouts, type PoolAdapter, type PoolContext, count, patch } from './common.js'

/** The members of a generic-pool 3 `Pool` the adapter uses. */
interface GenericPool {
  acquire: (priority?: number) => PromiseLike<unknown>
  release: (resource: unknown) => unknown
  destroy: (resource: unknown) => unknown
  readonly size: number
  readonly available: number
  readonly pending: number
  readonly max: number
}

/**
 * Tracks a generic-pool 3 `Pool`. It publishes no `diagnostics_channel` events (nor acquire or
 * release events), so the instance's `acquire`, `release` and `destroy` are wrapped (`use()` goes
 * through them). An acquire rejected with generic-pool's `TimeoutError` (`acquireTimeoutMillis`)
 * is counted as a timeout.
 */
export function trackGenericPool(pool: GenericPool, ctx: PoolContext): PoolAdapter {
  const checkouts = new Checkouts(ctx)
  const acquire = pool.acquire
  const release = pool.release
  const destroy = pool.destroy
  function trackedAcquire(this: unknown, priority?: number): PromiseLike<unknown> {
    const holder = checkouts.site(trackedAcquire)
    const t0 = performance.now()
    const result = acquire.call(this, priority)
    if (typeof result?.then !== 'function') return result
    return result.then(
      (resource) => {
        checkouts.acquired(resource, holder, t0, false)
        return resource
      },
      (err: unknown) => {
        checkouts.acquired(null, holder, t0, err instanceof Error && err.name === 'TimeoutError')
        throw err
      },
    )
  }
  const restores = [
    patch(pool, 'acquire', trackedAcquire),
    patch(pool, 'release', function trackedRelease(this: unknown, resource: unknown) {
      checkouts.released(resource)
      return release.call(this, resource)
    }),
    patch(pool, 'destroy', function trackedDestroy(this: unknown, resource: unknown) {
      checkouts.released(resource)
      return destroy.call(this, resource)
    }),
  ]
  return {
    kind: 'generic-pool',
    via: 'acquire, release and destroy wrapped on the instance',
    checkouts,
    gauges: () => ({ size: count(pool.size), idle: count(pool.available), waiting: count(pool.pending), max: count(pool.max) }),
    uninstall() {
      for (const restore of restores.reverse()) restore()
    },
  }
}

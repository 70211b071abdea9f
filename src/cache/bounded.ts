/**
 * What the leak trend needs of the caches: how many bytes of the live set they hold. Every cache
 * is bounded by construction, so its growth up to its bound is not a leak; a trend detector
 * subtracts these bytes from the live set before it fits a slope.
 */

/** Bytes the caches of one instance hold. */
export interface BoundedCacheBytes {
  /**
   * Bytes held now by every cache attached to the instance (`kit.cache`, `kit.memoize`, and the
   * `createCache`/`memoize` caches attached to it), as their `sizeOf` counts them: exact sums
   * lru-cache keeps, cheap to read (one addition per cache).
   */
  readonly bytes: number
  /** The sum of their byte bounds now, or null when any of them is bounded by entries only. */
  readonly boundBytes: number | null
  /** How many caches were counted. */
  readonly caches: number
}

interface Source {
  bounded(): BoundedCacheBytes
}

const sources = new WeakMap<object, Source>()

/** Registers an instance's registry under the objects it can be found by (its MemoryView, its `kit.cache`). @internal */
export function registerBoundedSource(keys: readonly object[], source: Source): void {
  for (const key of keys) sources.set(key, source)
}

const NONE: BoundedCacheBytes = Object.freeze({ bytes: 0, boundBytes: 0, caches: 0 })

/**
 * The bytes held by one instance's caches, which the leak trend counts as bounded, not as a
 * leak. `scope` is the kit, or the `memory` of a capability's context (what another capability
 * holds of the instance). An instance with `caches: false`, or anything else, gives zeros.
 *
 * @example
 * // in a capability's onMajorGc:
 * const unboundedLive = gc.liveBytes - boundedCacheBytes(ctx.memory).bytes
 */
export function boundedCacheBytes(scope: object): BoundedCacheBytes {
  const direct = sources.get(scope)
  if (direct !== undefined) return direct.bounded()
  const api = (scope as { cache?: unknown }).cache
  const viaKit = typeof api === 'function' ? sources.get(api) : undefined
  return viaKit?.bounded() ?? NONE
}

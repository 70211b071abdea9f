import { LRUCache } from 'lru-cache'

/** What a cache asks of its lru-cache. */
export interface LruSetup<K, V> {
  readonly max: number | null
  /** The byte bound now, when sizes are tracked (null: nothing is measured on set). */
  readonly maxBytes: number | null
  /** The entry's size; called on every set when sizes are tracked. */
  readonly measure: (value: V, key: K) => number
  readonly ttlMs: number | null
  readonly now: (() => number) | null
  /** An entry left, and why (lru-cache's dispose, passed as is: it runs on every eviction). */
  readonly dispose: (value: V, key: K, reason: LRUCache.DisposeReason) => void
}

/** lru-cache's maxSize when sizes are tracked: it never evicts by size itself (see BoundedCache). */
export const NO_BOUND = Number.MAX_SAFE_INTEGER

/**
 * The lru-cache under a cache. No `ttlAutopurge` (a timer per entry) and no `updateAgeOnGet`;
 * `ttlResolution: 0` reads the clock on each check instead of caching it behind a timer.
 */
export function createLru<K, V>(o: LruSetup<K, V>): LRUCache<NonNullable<K>, NonNullable<V>> {
  const sized = o.maxBytes !== null
  const now = o.now
  // One literal with every key (undefined takes lru-cache's default): an object built from
  // spreads goes to dictionary mode and makes the constructor several times slower.
  return new LRUCache<NonNullable<K>, NonNullable<V>>({
    max: o.max ?? undefined,
    maxSize: sized ? NO_BOUND : undefined,
    maxEntrySize: sized ? o.maxBytes : undefined,
    sizeCalculation: sized ? o.measure : undefined,
    ttl: o.ttlMs ?? undefined,
    ttlResolution: o.ttlMs === null ? undefined : 0,
    // lru-cache takes a start time of 0 for "no TTL": a clock that starts at 0 would never expire.
    perf: now === null ? undefined : { now: () => now() + 1 },
    dispose: o.dispose,
    // One of max and maxSize is always there: resolveCacheOptions requires max or maxBytes.
  } as unknown as LRUCache.Options<NonNullable<K>, NonNullable<V>, unknown>)
}

/**
 * Drops expired entries among the `limit` least recently used of a TTL cache; returns how many.
 * lru-cache's iterators skip expired entries unless `allowStale` (a public, mutable member) is
 * on, so it is on while the keys are read; a `get` of an expired key then drops it, counted as
 * expired.
 */
export function sweepExpired<K, V>(lru: LRUCache<NonNullable<K>, NonNullable<V>>, limit: number): number {
  if (lru.size === 0) return 0
  const expired: NonNullable<K>[] = []
  lru.allowStale = true
  try {
    let seen = 0
    for (const key of lru.rkeys()) {
      if (lru.getRemainingTTL(key) < 0) expired.push(key)
      if (++seen >= limit) break
    }
  } finally {
    lru.allowStale = false
  }
  for (const key of expired) lru.get(key)
  return expired.length
}

/** Why entries left a cache. */
export interface CacheEvictions {
  /** Pushed out by `max` or `maxBytes` (a value too big for `maxBytes` on its own counts here too). */
  readonly capacity: number
  /** Past `ttlMs`: dropped when read or by the sweep. */
  readonly expired: number
  /** Overwritten by `set` with another value. */
  readonly replaced: number
  /** Removed by `delete` or `clear`. */
  readonly deleted: number
}

/** A cache's counters and size, as `stats()`, the metrics and the report give them. */
export interface CacheStats {
  /** Lookups (`get`, `getOrLoad`, memoized calls) answered from the cache; joining a load in flight counts. */
  readonly hits: number
  /** Lookups that found nothing (for `getOrLoad` and memoize: loads started). */
  readonly misses: number
  /** hits / (hits + misses), or null before the first lookup. */
  readonly hitRatio: number | null
  /** `set` calls with a value (one refused as too big for `maxBytes` included), and values stored by loads. */
  readonly sets: number
  readonly evictions: CacheEvictions
  /** Entries held now (expired ones not yet dropped included). */
  readonly entries: number
  /**
   * Bytes held now, as `sizeOf` counts them: the exact sum for a cache with `maxBytes`; for one
   * bounded by `max` only, entries × the mean size of up to 64 entries sampled from the most
   * recently used end, when read (so that `set` never pays for measuring).
   */
  readonly bytes: number
  /** Whether `bytes` is sampled (a cache bounded by `max` only) rather than the exact sum. */
  readonly bytesSampled: boolean
  /** `max`, or null. */
  readonly maxEntries: number | null
  /** The byte bound now (a share of the limit resolved), or null. */
  readonly maxBytes: number | null
}

/**
 * A bounded LRU cache on lru-cache, counted in metrics and in the memory report. Made by
 * `kit.cache(name, options)` or `createCache(name, options)`.
 */
export interface Cache<K, V> {
  /** Its name: the `cache` label of its series. */
  readonly name: string
  /** The value, made most recently used; counts a hit or a miss. An expired entry is a miss (and is dropped). */
  get(key: K): V | undefined
  /** Stores a value (evicting the least recently used as the bounds need). `undefined` deletes the key. */
  set(key: K, value: V): this
  /** Whether a live entry exists; neither counts nor changes recency. */
  has(key: K): boolean
  /** The value without counting or changing recency. */
  peek(key: K): V | undefined
  /** Removes the key; true when it was there. */
  delete(key: K): boolean
  /** Removes every entry (counted as deleted). */
  clear(): void
  /** Entries held now. */
  readonly size: number
  /**
   * Cache-aside: the cached value, or the loader's, stored for next time. Concurrent calls for a
   * key share one load; a rejection is not cached; `undefined` is returned but not stored. A
   * `set` or `delete` of the key while it loads wins over the load's result.
   */
  getOrLoad(key: K, loader: (key: K) => V | Promise<V>): Promise<V>
  /** Counters and size now. */
  stats(): CacheStats
  /** Empties it and takes its series out of the metrics and the report; later `set`s throw `OOMKIT_CACHE_CLOSED`. */
  close(): void
}

/** Where a cache is attached (an instance's registry). */
export interface CacheHost {
  /** The memory limit now, that a share in `maxBytes` is taken of. */
  limitBytes(): number
  /** A cache tells its host it was closed. */
  release(cache: Cache<never, never>): void
}

/** What a limit change did to a cache. */
export interface Resize {
  readonly before: number | null
  readonly after: number
  readonly evicted: number
}

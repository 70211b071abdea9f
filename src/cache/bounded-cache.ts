import { LRUCache } from 'lru-cache'
import { OomkitError } from '../errors.js'
import { type ResolvedCacheOptions, cacheLabel } from './options.js'
import { defaultSizeOf } from './size-of.js'

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
  release(cache: BoundedCache<never, never>): void
}

/** What a limit change did to a cache. */
export interface Resize {
  readonly before: number | null
  readonly after: number
  readonly evicted: number
}

const NO_BOUND = Number.MAX_SAFE_INTEGER
/** Entries a cache bounded by `max` only measures when its bytes are read. */
export const BYTES_SAMPLE = 64

/** The error of a closed cache. */
export function closedError(name: string): OomkitError {
  return new OomkitError('OOMKIT_CACHE_CLOSED', `${cacheLabel(name)} was closed; create a new one`)
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function'

/** The implementation of {@link Cache}: lru-cache does the eviction; this counts and bounds bytes. */
export class BoundedCache<K, V> implements Cache<K, V> {
  readonly #lru: LRUCache<NonNullable<K>, NonNullable<V>>
  readonly #sizeOf: (value: V, key: K) => number
  readonly #share: number | null
  /** Whether sizes are tracked per entry (a byte bound needs them). */
  readonly #sized: boolean
  readonly #onClose: (() => void) | null
  #maxBytes: number
  #lastSize = 0
  #hits = 0
  #misses = 0
  #sets = 0
  #capacity = 0
  #expired = 0
  #replaced = 0
  #deleted = 0
  #inflight: Map<K, Promise<V>> | null = null
  #host: CacheHost | null = null
  #closed = false
  /** The warning watch's state (warnings.ts). @internal */
  watch: { hits: number; misses: number; sets: number; capacity: number; warned: boolean } = { hits: 0, misses: 0, sets: 0, capacity: 0, warned: false }

  /**
   * @param limitBytes the memory limit to take a share of until a host tells another.
   * @param onClose called once by `close()`.
   */
  constructor(
    readonly name: string,
    readonly options: ResolvedCacheOptions<K, V>,
    limitBytes: number | null,
    onClose: (() => void) | null = null,
  ) {
    this.#sizeOf = options.sizeOf ?? defaultSizeOf
    this.#share = options.limitShare
    this.#onClose = onClose
    this.#sized = options.maxBytes !== null || this.#share !== null
    this.#maxBytes = options.maxBytes ?? (this.#share !== null ? shareOf(this.#share, limitBytes ?? NO_BOUND) : NO_BOUND)
    // With a byte bound, sizes are tracked per entry, but lru-cache never evicts by size: its
    // maxSize is fixed at construction, and a share of the limit moves. The bound is enforced
    // here, after each set, by popping the least recently used; maxEntrySize (a public, mutable
    // member) makes lru-cache refuse a value too big on its own. Without a byte bound nothing is
    // measured on set (tracking costs lru-cache ~15% of its set throughput): bytes are sampled
    // when read.
    const sized = this.#sized
    // One literal with every key (undefined takes lru-cache's default): an object built from
    // spreads goes to dictionary mode and makes the constructor several times slower.
    this.#lru = new LRUCache<NonNullable<K>, NonNullable<V>>({
      max: options.max ?? undefined,
      maxSize: sized ? NO_BOUND : undefined,
      maxEntrySize: sized ? this.#maxBytes : undefined,
      sizeCalculation: sized ? (value: V, key: K) => this.#measure(value, key) : undefined,
      ttl: options.ttlMs ?? undefined,
      ttlResolution: options.ttlMs === null ? undefined : 0,
      // lru-cache takes a start time of 0 for "no TTL": a clock that starts at 0 would never expire.
      perf: options.now === null ? undefined : { now: offsetClock(options.now) },
      dispose: (_value: V, _key: K, reason: LRUCache.DisposeReason) => {
        if (reason === 'evict') this.#capacity++
        else if (reason === 'expire') this.#expired++
        else if (reason === 'set') this.#replaced++
        else this.#deleted++
      },
      // One of max and maxSize is always there: resolveCacheOptions requires max or maxBytes.
    } as unknown as LRUCache.Options<NonNullable<K>, NonNullable<V>, unknown>)
  }

  #measure(value: V, key: K): number {
    const size = this.#sizeOf(value, key)
    if (typeof size !== 'number' || !(size >= 0) || size === Infinity) {
      throw new OomkitError('OOMKIT_INVALID_OPTION', `${cacheLabel(this.name)}.sizeOf returned ${String(size)}: expected a finite number of bytes, 0 or more`)
    }
    this.#lastSize = size < 1 ? 1 : Math.ceil(size)
    return this.#lastSize
  }

  get(key: K): V | undefined {
    const value = this.#lru.get(key as NonNullable<K>)
    if (value === undefined) this.#misses++
    else this.#hits++
    return value
  }

  set(key: K, value: V): this {
    if (this.#closed) throw closedError(this.name)
    if (this.#inflight !== null && this.#inflight.size !== 0) this.#inflight.delete(key)
    const lru = this.#lru
    lru.set(key as NonNullable<K>, value as NonNullable<V>)
    if (value === undefined) return this
    this.#sets++
    if (!this.#sized) return this
    if (this.#lastSize > this.#maxBytes) this.#capacity++ // refused: it alone exceeds maxBytes
    else if (lru.calculatedSize > this.#maxBytes) this.#shrink()
    return this
  }

  has(key: K): boolean {
    return this.#lru.has(key as NonNullable<K>)
  }

  peek(key: K): V | undefined {
    return this.#lru.peek(key as NonNullable<K>)
  }

  delete(key: K): boolean {
    if (this.#inflight !== null && this.#inflight.size !== 0) this.#inflight.delete(key)
    return this.#lru.delete(key as NonNullable<K>)
  }

  clear(): void {
    this.#inflight?.clear()
    this.#lru.clear()
  }

  get size(): number {
    return this.#lru.size
  }

  getOrLoad(key: K, loader: (key: K) => V | Promise<V>): Promise<V> {
    const cached = this.#lru.get(key as NonNullable<K>)
    if (cached !== undefined) {
      this.#hits++
      return Promise.resolve(cached)
    }
    const pending = this.#inflight?.get(key)
    if (pending !== undefined) {
      this.#hits++
      return pending
    }
    this.#misses++
    if (this.#closed) return Promise.reject(closedError(this.name))
    let loaded: V | Promise<V>
    try {
      loaded = loader(key)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#track(key, Promise.resolve(loaded))
  }

  /**
   * memoize's lookup: like getOrLoad, but `compute` runs synchronously and a plain result is
   * stored and returned as is; a thenable one is shared while in flight. @internal
   */
  memo(key: K, compute: () => unknown): unknown {
    const cached = this.#lru.get(key as NonNullable<K>)
    if (cached !== undefined) {
      this.#hits++
      return cached
    }
    const pending = this.#inflight?.get(key)
    if (pending !== undefined) {
      this.#hits++
      return pending
    }
    this.#misses++
    const result = compute()
    if (isThenable(result)) return this.#track(key, Promise.resolve(result as V))
    if (!this.#closed) this.set(key, result as V)
    return result
  }

  #track(key: K, loading: Promise<V>): Promise<V> {
    const inflight = (this.#inflight ??= new Map())
    const settled = loading.then(
      (value) => {
        // A set, delete or clear since the load started took its place: that one wins.
        if (inflight.get(key) !== settled) return value
        inflight.delete(key)
        if (value !== undefined && !this.#closed) this.set(key, value)
        return value
      },
      (err: unknown) => {
        if (inflight.get(key) === settled) inflight.delete(key)
        throw err
      },
    )
    inflight.set(key, settled)
    return settled
  }

  stats(): CacheStats {
    const lookups = this.#hits + this.#misses
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitRatio: lookups === 0 ? null : this.#hits / lookups,
      sets: this.#sets,
      evictions: { capacity: this.#capacity, expired: this.#expired, replaced: this.#replaced, deleted: this.#deleted },
      entries: this.#lru.size,
      bytes: this.bytes,
      bytesSampled: !this.#sized,
      maxEntries: this.options.max,
      maxBytes: this.maxBytes,
    }
  }

  /** The byte bound now, or null. */
  get maxBytes(): number | null {
    return this.#maxBytes === NO_BOUND ? null : this.#maxBytes
  }

  /** Bytes held now: lru-cache's exact sum with a byte bound, else sampled (see {@link CacheStats.bytes}). */
  get bytes(): number {
    return this.#sized ? this.#lru.calculatedSize : this.#sampledBytes()
  }

  #sampledBytes(): number {
    const lru = this.#lru
    const entries = lru.size
    if (entries === 0) return 0
    let sum = 0
    let measured = 0
    for (const [key, value] of lru.entries()) {
      const size = this.#sizeOf(value, key)
      if (typeof size === 'number' && size >= 0 && size !== Infinity) {
        sum += size < 1 ? 1 : Math.ceil(size)
        measured++
      }
      if (measured >= BYTES_SAMPLE) break
    }
    if (measured === 0) return 0
    return measured === entries ? sum : Math.round((sum / measured) * entries)
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.#closed
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.clear()
    this.#host?.release(this as unknown as BoundedCache<never, never>)
    this.#host = null
    this.#onClose?.()
  }

  /** The host it is attached to, or null. @internal */
  get host(): CacheHost | null {
    return this.#host
  }

  /** Attaches to (or, with null, detaches from) a host, and takes its limit. @internal */
  attach(host: CacheHost | null): void {
    this.#host = host
    if (host !== null) this.applyLimit(host.limitBytes())
  }

  /** Re-evaluates a share of the limit; evicts down to a smaller bound now. @internal */
  applyLimit(limitBytes: number): Resize | null {
    if (this.#share === null) return null
    const bound = shareOf(this.#share, limitBytes)
    if (bound === this.#maxBytes) return null
    const before = this.maxBytes
    const entries = this.#lru.size
    this.#maxBytes = bound
    this.#lru.maxEntrySize = bound
    this.#shrink()
    return { before, after: bound, evicted: entries - this.#lru.size }
  }

  #shrink(): void {
    const lru = this.#lru
    while (lru.calculatedSize > this.#maxBytes && lru.size > 0) lru.pop()
  }

  /**
   * Drops expired entries among the `limit` least recently used; returns how many. lru-cache's
   * iterators skip expired entries unless `allowStale` (a public, mutable member) is on, so it
   * is on while the keys are read; a `get` of an expired key then drops it as expired. @internal
   */
  sweepExpired(limit: number): number {
    const lru = this.#lru
    if (this.options.ttlMs === null || lru.size === 0) return 0
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
}

function offsetClock(now: () => number): () => number {
  return () => now() + 1
}

function shareOf(share: number, limitBytes: number): number {
  return Math.max(1, Math.floor(share * limitBytes))
}

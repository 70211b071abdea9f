import type { LRUCache } from 'lru-cache'
import { OomkitError } from '../errors.js'
import { type ResolvedCacheOptions, cacheLabel } from './options.js'
import type { Cache, CacheHost, CacheStats, Resize } from './cache-types.js'
import { InFlight, isThenable } from './in-flight.js'
import { NO_BOUND, createLru, sweepExpired } from './lru.js'
import { defaultSizeOf, sampleBytes } from './size-of.js'

export type { Cache, CacheEvictions, CacheHost, CacheStats, Resize } from './cache-types.js'

/** Entries a cache bounded by `max` only measures when its bytes are read. */
export const BYTES_SAMPLE = 64

/**
 * A sampled `bytes` is reused until more entries than this share of the cache's were set, evicted
 * or deleted since it was taken (any change, for a cache under 20 entries)…
 */
export const BYTES_RESAMPLE_SHARE = 0.05
/** …or until it is this old (values changed in place are seen within this time). */
export const BYTES_RESAMPLE_MS = 5_000

interface BytesSample {
  readonly bytes: number
  readonly entries: number
  readonly changes: number
  readonly at: number
}

/** The error of a closed cache. */
export function closedError(name: string): OomkitError {
  return new OomkitError('OOMKIT_CACHE_CLOSED', `${cacheLabel(name)} was closed; create a new one`)
}

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
  /** The last sampled `bytes` (a cache bounded by `max` only), reused while the cache barely changed. */
  #sample: BytesSample | null = null
  readonly #now: () => number
  readonly #inflight = new InFlight<K, V>()
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
    this.#now = options.now ?? (() => performance.now())
    this.#sized = options.maxBytes !== null || this.#share !== null
    this.#maxBytes = options.maxBytes ?? (this.#share !== null ? shareOf(this.#share, limitBytes ?? NO_BOUND) : NO_BOUND)
    // With a byte bound, sizes are tracked per entry, but lru-cache never evicts by size: its
    // maxSize is fixed at construction, and a share of the limit moves. The bound is enforced
    // here, after each set, by popping the least recently used; maxEntrySize (a public, mutable
    // member) makes lru-cache refuse a value too big on its own. Without a byte bound nothing is
    // measured on set (tracking costs lru-cache 10–14% of its set throughput): bytes are sampled
    // when read.
    this.#lru = createLru<K, V>({
      max: options.max,
      maxBytes: this.#sized ? this.#maxBytes : null,
      measure: (value, key) => this.#measure(value, key),
      ttlMs: options.ttlMs,
      now: options.now,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#capacity++
        else if (reason === 'expire') this.#expired++
        else if (reason === 'set') this.#replaced++
        else this.#deleted++
      },
    })
  }

  #measure(value: V, key: K): number {
    const size = this.#sizeOf(value, key)
    if (typeof size !== 'number' || !(size >= 0) || size === Infinity) {
      throw new OomkitError('OOMKIT_INVALID_OPTION', `${cacheLabel(this.name)}.sizeOf returned ${String(size)}: expected a finite number of bytes, 0 or more`)
    }
    this.#lastSize = size < 1 ? 1 : Math.ceil(size)
    return this.#lastSize
  }

  /** The value for `key` (a hit), or undefined (a miss); an expired entry is a miss and is removed. */
  get(key: K): V | undefined {
    const value = this.#lru.get(key as NonNullable<K>)
    if (value === undefined) this.#misses++
    else this.#hits++
    return value
  }

  /** Stores `value`; evicts the least recently used entries past the bounds. */
  set(key: K, value: V): this {
    if (this.#closed) throw closedError(this.name)
    this.#inflight.forget(key)
    const lru = this.#lru
    lru.set(key as NonNullable<K>, value as NonNullable<V>)
    if (value === undefined) return this
    this.#sets++
    if (!this.#sized) return this
    if (this.#lastSize > this.#maxBytes)
      this.#capacity++ // refused: it alone exceeds maxBytes
    else if (lru.calculatedSize > this.#maxBytes) this.#shrink()
    return this
  }

  /** Whether `key` is cached and not expired (not counted as a hit or miss). */
  has(key: K): boolean {
    return this.#lru.has(key as NonNullable<K>)
  }

  /** The value without counting a lookup or refreshing its recency. */
  peek(key: K): V | undefined {
    return this.#lru.peek(key as NonNullable<K>)
  }

  /** Removes `key` (counted as a `deleted` eviction); returns whether it was there. */
  delete(key: K): boolean {
    this.#inflight.forget(key)
    return this.#lru.delete(key as NonNullable<K>)
  }

  /** Removes every entry. */
  clear(): void {
    this.#inflight.clear()
    this.#lru.clear()
  }

  /** Entries held now. */
  get size(): number {
    return this.#lru.size
  }

  /** Cache-aside: the cached value, or `loader(key)`'s, stored; concurrent loads of one key share one promise, and a rejection is not cached. */
  getOrLoad(key: K, loader: (key: K) => V | Promise<V>): Promise<V> {
    const cached = this.#lru.get(key as NonNullable<K>)
    if (cached !== undefined) {
      this.#hits++
      return Promise.resolve(cached)
    }
    const pending = this.#inflight.get(key)
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
    return this.#inflight.track(key, Promise.resolve(loaded), (value) => this.#store(key, value))
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
    const pending = this.#inflight.get(key)
    if (pending !== undefined) {
      this.#hits++
      return pending
    }
    this.#misses++
    const result = compute()
    if (isThenable(result)) return this.#inflight.track(key, Promise.resolve(result as V), (value) => this.#store(key, value))
    if (!this.#closed) this.set(key, result as V)
    return result
  }

  #store(key: K, value: V): void {
    if (value !== undefined && !this.#closed) this.set(key, value)
  }

  /** Hits, misses, hit ratio, evictions by reason, entries and bytes. */
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

  /** The counters alone (no bytes to sample), for the warning watch. @internal */
  counters(): { hits: number; misses: number; sets: number; capacity: number } {
    return { hits: this.#hits, misses: this.#misses, sets: this.#sets, capacity: this.#capacity }
  }

  /** The byte bound now, or null. */
  get maxBytes(): number | null {
    return this.#maxBytes === NO_BOUND ? null : this.#maxBytes
  }

  /** Bytes held now: lru-cache's exact sum with a byte bound, else sampled (see {@link CacheStats.bytes}). */
  get bytes(): number {
    return this.#sized ? this.#lru.calculatedSize : this.#sampledBytes()
  }

  // Sampling walks up to 64 values through sizeOf: a scrape of many caches paid that for every
  // cache every time. It is an estimate, so it is kept until the cache changed by more than a few
  // percent of its entries (sets, evictions and deletes, replaced ones included) or grew stale.
  #sampledBytes(): number {
    const entries = this.#lru.size
    const changes = this.#sets + this.#capacity + this.#expired + this.#deleted
    const now = this.#now()
    const last = this.#sample
    if (last !== null && now - last.at < BYTES_RESAMPLE_MS && now >= last.at) {
      const allowed = Math.floor(BYTES_RESAMPLE_SHARE * Math.min(entries, last.entries))
      if (changes - last.changes <= allowed && Math.abs(entries - last.entries) <= allowed) return last.bytes
    }
    const bytes = sampleBytes(this.#lru.entries(), entries, this.#sizeOf, BYTES_SAMPLE)
    this.#sample = { bytes, entries, changes, at: now }
    return bytes
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.#closed
  }

  /** Empties and detaches the cache: its series leave the metrics. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.clear()
    this.#host?.release(this as unknown as Cache<never, never>)
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

  /** Drops expired entries among the `limit` least recently used; returns how many. @internal */
  sweepExpired(limit: number): number {
    return this.options.ttlMs === null ? 0 : sweepExpired(this.#lru, limit)
  }
}

function shareOf(share: number, limitBytes: number): number {
  return Math.max(1, Math.floor(share * limitBytes))
}

import { getHeapStatistics } from 'node:v8'
import type { EventBus, OomkitEvents } from '../events.js'
import type { OomkitLogger } from '../logging/logger.js'
import type { Reading } from '../memory/sampler.js'
import { type GlobalHost, duplicate, globalCacheNamed, hostStarted, hostStopped } from './attach.js'
import { BoundedCache, type Cache, type CacheHost } from './bounded-cache.js'
import { type Memoized, type MemoizeOptions, memoizeCacheOptions, memoizeWith } from './memoize.js'
import { type CacheOptions, type ResolvedCachesOptions, checkCacheName, resolveCacheOptions } from './options.js'
import { type CacheRow, type CachesSection, cachesSection } from './section.js'
import { judgeCache } from './warnings.js'

/** Entries the TTL sweep looks at per cache and sample, from the least recently used end. */
export const SWEEP_BATCH = 1000

type AnyCache = BoundedCache<never, never>

/** What a registry needs of its instance. */
export interface RegistryDeps {
  /** The `caches` option; false leaves caches unwatched (bounded, swept and resized still). */
  readonly options: ResolvedCachesOptions | false
  readonly logger: OomkitLogger
  readonly events: EventBus<OomkitEvents>
  /** The container's memory limit now, or null without one (the heap limit stands in). */
  readonly containerLimit: () => number | null
}

/**
 * One instance's caches: the ones `kit.cache()` and `kit.memoize()` made, and the global ones
 * attached to it. It shares a `maxBytes` share of the limit out again when the limit changes,
 * sweeps expired entries, judges hit ratios, and gives the collector, the report and the memory
 * log their rows. Nothing here runs on a cache operation: everything reads the caches' counters.
 */
export class CacheRegistry implements CacheHost, GlobalHost {
  readonly #caches = new Map<string, AnyCache>()
  readonly #deps: RegistryDeps
  #limit: number | null = null
  #running = false
  #stopped = false

  constructor(deps: RegistryDeps) {
    this.#deps = deps
  }

  /** Whether caches are watched (metrics, report, log, warnings). */
  get observed(): boolean {
    return this.#deps.options !== false
  }

  /** `kit.cache(name, options)`. */
  cache<K, V>(name: string, options: CacheOptions<K, V>): Cache<K, V> {
    checkCacheName(name)
    if (this.#caches.has(name)) throw duplicate(name, 'this oomkit instance')
    const resolved = resolveCacheOptions<K, V>(name, options)
    const cache = new BoundedCache<K, V>(name, resolved, this.limitBytes())
    // A stopped instance still hands out bounded caches, unattached: nothing watches them any more.
    if (!this.#stopped) this.#add(cache as unknown as AnyCache)
    return cache
  }

  /** `kit.memoize(fn, options)`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  memoize<F extends (...args: any[]) => any>(fn: F, options?: MemoizeOptions<F>): Memoized<F> {
    const m = memoizeCacheOptions(fn, options as MemoizeOptions | undefined)
    return memoizeWith(fn, this.cache<unknown, unknown>(m.name, m.cache) as BoundedCache<unknown, unknown>, m.key)
  }

  /** Attaches a cache made with `createCache` (false when its name is taken here). */
  adopt(cache: AnyCache): boolean {
    const taken = this.#caches.get(cache.name)
    if (taken !== undefined && taken !== cache) {
      this.#deps.logger.warn(
        { cache: cache.name },
        `cache ${cache.name} (createCache) is not in this instance's metrics: the instance has a cache of that name`,
      )
      return false
    }
    this.#add(cache)
    return true
  }

  #add(cache: AnyCache): void {
    this.#caches.set(cache.name, cache)
    cache.attach(this)
  }

  /** Detaches a cache (closed, or its instance stopped). */
  release(cache: AnyCache): void {
    if (this.#caches.get(cache.name) === cache) this.#caches.delete(cache.name)
  }

  /** The limit a `maxBytes` share is taken of: the container's, or V8's heap limit without one. */
  limitBytes(): number {
    this.#limit ??= this.#deps.containerLimit() ?? getHeapStatistics().heap_size_limit
    return this.#limit
  }

  /** The capability's start: global caches may attach now. */
  start(): void {
    if (this.#running || this.#stopped) return
    this.#running = true
    if (this.observed) hostStarted(this)
  }

  /** The capability's stop: every cache detaches (and keeps working); global ones move to the next instance running. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    const caches = [...this.#caches.values()]
    this.#caches.clear()
    for (const cache of caches) cache.attach(null)
    if (this.#running && this.observed) hostStopped(this)
    this.#running = false
  }

  /** After every sample: a changed limit resizes shares, expired entries are swept, hit ratios judged. */
  onSample(reading: Reading): void {
    const limit = reading.container?.limitBytes ?? reading.v8.heapSizeLimit
    const changed = this.#limit !== null && limit !== this.#limit
    this.#limit = limit
    const options = this.#deps.options
    for (const cache of this.#caches.values()) {
      const resize = cache.applyLimit(limit)
      if (resize !== null && changed) {
        this.#deps.logger.info(
          { cache: cache.name, limit, maxBytesBefore: resize.before, maxBytes: resize.after, evicted: resize.evicted },
          `cache ${cache.name}: the memory limit changed to ${limit} bytes; maxBytes is now ${resize.after}${resize.evicted > 0 ? `, ${resize.evicted} entries evicted` : ''}`,
        )
      }
      cache.sweepExpired(SWEEP_BATCH)
      if (options === false) continue
      const warning = judgeCache(cache as unknown as BoundedCache<unknown, unknown>, options)
      if (warning === null) continue
      const { message, ...fields } = warning
      this.#deps.logger.warn(fields, message)
      this.#deps.events.emit('cacheWarning', warning)
    }
  }

  /** Every cache's row, largest first. */
  rows(): CacheRow[] {
    const rows: CacheRow[] = []
    for (const cache of this.#caches.values()) {
      const share = cache.options.limitShare
      rows.push({
        name: cache.name,
        scope: globalCacheNamed(cache.name) === cache ? 'global' : 'kit',
        ttlMs: cache.options.ttlMs,
        maxBytesShare: share === null ? null : `${+(share * 100).toFixed(4)}%`,
        ...cache.stats(),
      })
    }
    return rows.sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1))
  }

  /** The report's `caches` section. */
  section(): CachesSection {
    return cachesSection(this.rows(), getHeapStatistics().used_heap_size)
  }

  /** What the caches add to the periodic `"memory"` line: their total bytes and the 20 largest. */
  logFields(): Record<string, unknown> {
    if (this.#caches.size === 0) return {}
    const rows = this.rows()
    const caches: Record<string, { entries: number; bytes: number; hitRatio: number | null }> = {}
    for (const r of rows.slice(0, 20))
      caches[r.name] = { entries: r.entries, bytes: r.bytes, hitRatio: r.hitRatio === null ? null : Math.round(r.hitRatio * 1000) / 1000 }
    return { cacheBytes: rows.reduce((sum, r) => sum + r.bytes, 0), caches }
  }

  /** Bytes every attached cache holds now, and what their byte bounds allow (see boundedCacheBytes). */
  bounded(): { bytes: number; boundBytes: number | null; caches: number } {
    let bytes = 0
    let boundBytes: number | null = 0
    for (const cache of this.#caches.values()) {
      bytes += cache.bytes
      const max = cache.maxBytes
      boundBytes = boundBytes === null || max === null ? null : boundBytes + max
    }
    return { bytes, boundBytes, caches: this.#caches.size }
  }
}

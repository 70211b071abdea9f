import { type Capability, defineCapability } from '../capability.js'
import type { Cache } from './bounded-cache.js'
import { registerBoundedSource } from './bounded.js'
import { cacheCollector } from './collector.js'
import type { Memoized, MemoizeOptions } from './memoize.js'
import { type CacheOptions, type CachesOptions, type ResolvedCachesOptions, CACHES_DEFAULTS, resolveCaches } from './options.js'
import { CacheRegistry } from './registry.js'
import type { CachesSection } from './section.js'
import type { CacheWarning } from './warnings.js'

declare module '../capability.js' {
  interface CapabilityApi {
    /**
     * A bounded LRU cache (on lru-cache) in this instance's metrics, report and memory log: the
     * one-line replacement for `const cache = {}`. `max` (entries) or `maxBytes` (bytes, or a
     * share of the container limit such as `'10%'`) is required. Names are unique per instance.
     *
     * @example
     * const users = kit.cache<string, User>('users', { max: 10_000, maxBytes: '5%', ttlMs: 60_000 })
     * const user = await users.getOrLoad(id, (id) => db.users.find(id))
     */
    cache<K = string, V = unknown>(name: string, options: CacheOptions<K, V>): Cache<K, V>
    /**
     * oomkit's `functools.lru_cache`: `fn` behind a named cache (128 entries unless `max` or
     * `maxBytes` says otherwise), with `cacheInfo()` and `cacheClear()`. Sync and async
     * functions; errors and rejections are not cached; concurrent async calls with one key
     * share one promise.
     *
     * @example
     * const price = kit.memoize(async (sku: string) => fetchPrice(sku), { max: 5000, ttlMs: 30_000 })
     * price.cacheInfo()   // { hits, misses, maxsize: 5000, currsize }
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    memoize<F extends (...args: any[]) => any>(fn: F, options?: MemoizeOptions<F>): Memoized<F>
  }
  interface CapabilityOptions {
    /** How caches are watched (warnings), or false to leave them out of metrics, report and logs. @default { warnings: true, warnAfterLookups: 100000, warnHitRatio: 0.1 } */
    caches?: CachesOptions | false
  }
  interface ResolvedCapabilityOptions {
    readonly caches: ResolvedCachesOptions | false
  }
  interface ReportSections {
    /** Every cache attached to the instance with its stats and heap share; null when `caches: false`. */
    caches: CachesSection | null
  }
}

declare module '../events.js' {
  interface OomkitEvents {
    /** A cache does not pay its way (once per cache): a low hit ratio, or evicting most of what it inserts. */
    cacheWarning: [warning: CacheWarning]
  }
}

/**
 * Bounded caches: `kit.cache()`, `kit.memoize()`, the global caches of `createCache()` that
 * attach to the instance, the `oomkit_cache_*` series, the report's `caches` section, the
 * caches in the `"memory"` line and the once-per-cache warnings. With `caches: false`, caches
 * are still bounded, swept and resized, but nothing reports them.
 */
export const cacheCapability = defineCapability({
  name: 'caches',
  option: 'caches',
  defaults: CACHES_DEFAULTS,
  resolve: resolveCaches,
  section: 'caches',
  create({ options, logger, memory, events, shared }): Capability<CachesSection | null> {
    const registry = new CacheRegistry({ options, logger, events, containerLimit: () => memory.readContainer()?.limitBytes ?? null })
    const api = {
      cache: <K, V>(name: string, o: CacheOptions<K, V>): Cache<K, V> => registry.cache(name, o),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      memoize: <F extends (...args: any[]) => any>(fn: F, o?: MemoizeOptions<F>): Memoized<F> => registry.memoize(fn, o),
    }
    registerBoundedSource([memory, api.cache], registry)
    // The trend takes what caches hold below their bound out of the live set: bounded growth is not a leak.
    shared.boundedMemory = { boundedBytes: () => registry.bounded().bytes }
    const observed = options !== false
    return {
      api,
      collectors: observed ? [cacheCollector(() => registry.rows())] : [],
      start: () => registry.start(),
      stop: () => registry.stop(),
      onSample: (reading) => registry.onSample(reading),
      ...(observed ? { logFields: () => registry.logFields() } : {}),
      section: () => (observed ? registry.section() : null),
    }
  },
})

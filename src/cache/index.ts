export { cacheCapability } from './capability.js'
export { BoundedCache, type Cache, type CacheEvictions, type CacheStats } from './bounded-cache.js'
export { createCache, memoize } from './attach.js'
export { boundedCacheBytes, type BoundedCacheBytes } from './bounded.js'
export { cacheCollector, EVICTION_REASONS } from './collector.js'
export { MAX_KEY_DEPTH, MAX_KEY_LENGTH, defaultKey } from './key.js'
export type { CacheInfo, Memoized, MemoizedApi, MemoizeOptions } from './memoize.js'
export {
  CACHE_RANGES,
  CACHES_DEFAULTS,
  resolveCacheOptions,
  resolveCaches,
  type ByteBound,
  type CacheBounds,
  type CacheOptions,
  type CacheOptionsBase,
  type CachesOptions,
  type LimitShare,
  type ResolvedCachesOptions,
} from './options.js'
export { CacheRegistry, SWEEP_BATCH } from './registry.js'
export type { CacheReport, CacheRow, CachesSection } from './section.js'
export { ENTRY_OVERHEAD_BYTES, MAX_WALK_NODES, defaultSizeOf, estimateBytes, estimateObjectBytes, keyBytes, stringBytes } from './size-of.js'
export { judgeCache, shortCount, type CacheWarning, type CacheWarningKind } from './warnings.js'

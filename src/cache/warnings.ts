import type { BoundedCache } from './bounded-cache.js'
import type { ResolvedCachesOptions } from './options.js'

/** Why a cache was reported as not paying its way. */
export type CacheWarningKind = 'low-hit-ratio' | 'evicts-most-inserts'

/** The fields of a cache warning (logged at `warn`, and the `cacheWarning` event). */
export interface CacheWarning {
  readonly cache: string
  readonly kind: CacheWarningKind
  /** Lookups and hits over the window that was judged. */
  readonly lookups: number
  readonly hits: number
  readonly hitRatio: number | null
  /** Values stored and capacity evictions over the window. */
  readonly sets: number
  readonly capacityEvictions: number
  readonly message: string
}

/** 120000 → "120k", 3400000 → "3.4M". */
export function shortCount(n: number): string {
  if (n >= 1e6) return `${trim(n / 1e6)}M`
  if (n >= 1e3) return `${trim(n / 1e3)}k`
  return String(n)
}

function trim(x: number): string {
  return x >= 100 ? Math.round(x).toString() : x.toFixed(1).replace(/\.0$/, '')
}

const percent = (r: number): string => `${Math.round(r * 100)}%`

/**
 * Judges a cache over the window since its last judgement, once the window holds
 * `warnAfterLookups` lookups or inserts, and returns a warning at most once per cache:
 *
 * - `low-hit-ratio`: hits / lookups under `warnHitRatio` (the cache costs memory and is rarely
 *   read back);
 * - `evicts-most-inserts`: at least half of what it stored was pushed out for capacity while at
 *   least half of its lookups missed (it is too small for its working set: thrashing). A full
 *   cache with a good hit ratio also evicts as much as it inserts, and is fine: hence the second
 *   condition.
 */
export function judgeCache(cache: BoundedCache<unknown, unknown>, options: ResolvedCachesOptions): CacheWarning | null {
  const w = cache.watch
  if (w.warned || !options.warnings) return null
  const s = cache.counters()
  const hits = s.hits - w.hits
  const lookups = hits + (s.misses - w.misses)
  const sets = s.sets - w.sets
  const capacityEvictions = s.capacity - w.capacity
  if (lookups < options.warnAfterLookups && sets < options.warnAfterLookups) return null
  // The next window starts here.
  Object.assign(w, s)
  const hitRatio = lookups === 0 ? null : hits / lookups
  const base = { cache: cache.name, lookups, hits, hitRatio, sets, capacityEvictions }
  const advice = 'raise max or drop the cache'
  if (hitRatio !== null && lookups >= options.warnAfterLookups && hitRatio < options.warnHitRatio) {
    w.warned = true
    return { ...base, kind: 'low-hit-ratio', message: `cache ${cache.name}: hit ratio ${percent(hitRatio)} over ${shortCount(lookups)} lookups; ${advice}` }
  }
  if (sets >= options.warnAfterLookups && capacityEvictions >= sets / 2 && (hitRatio === null || hitRatio < 0.5)) {
    w.warned = true
    const reads = hitRatio === null ? 'never read' : `hit ratio ${percent(hitRatio)}`
    return {
      ...base,
      kind: 'evicts-most-inserts',
      message: `cache ${cache.name}: evicted ${percent(capacityEvictions / sets)} of ${shortCount(sets)} inserts for capacity, ${reads}; ${advice}`,
    }
  }
  return null
}

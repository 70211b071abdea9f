import { type Collector, type FamilyValue, defineCollector } from '../metrics/collector.js'
import type { CacheRow } from './section.js'

/** The eviction reasons, as the `reason` label of `oomkit_cache_evictions_total` spells them. */
export const EVICTION_REASONS = ['capacity', 'expired', 'replaced', 'deleted'] as const

const each = (rows: readonly CacheRow[], value: (r: CacheRow) => number | null): FamilyValue[] => {
  const out: FamilyValue[] = []
  for (const r of rows) {
    const v = value(r)
    if (v !== null) out.push({ value: v, labels: { cache: r.name } })
  }
  return out
}

/**
 * The caches' series, every one labelled `cache`, read at scrape time from the caches' own
 * counters (plain numbers: no prom-client call on any cache operation). A cache closed or
 * detached has no series; `oomkit_cache_max_entries` and `oomkit_cache_max_bytes` only exist for
 * caches with that bound.
 */
export function cacheCollector(rows: () => readonly CacheRow[]): Collector<readonly CacheRow[]> {
  return defineCollector({
    name: 'caches',
    read: rows,
    families: [
      { name: 'cache_hits_total', help: 'Cache lookups answered from the cache.', type: 'counter', values: (s) => each(s, (r) => r.hits) },
      {
        name: 'cache_misses_total',
        help: 'Cache lookups that found nothing (for getOrLoad and memoize: loads started).',
        type: 'counter',
        values: (s) => each(s, (r) => r.misses),
      },
      {
        name: 'cache_evictions_total',
        help: 'Entries that left a cache, by reason: capacity (max or maxBytes), expired (ttlMs), replaced (set over), deleted (delete or clear).',
        type: 'counter',
        values: (s) => s.flatMap((r) => EVICTION_REASONS.map((reason) => ({ value: r.evictions[reason], labels: { cache: r.name, reason } }))),
      },
      { name: 'cache_entries', help: 'Entries a cache holds.', type: 'gauge', values: (s) => each(s, (r) => r.entries) },
      { name: 'cache_size_bytes', help: "Bytes a cache's entries hold, as its sizeOf counts them.", type: 'gauge', values: (s) => each(s, (r) => r.bytes) },
      {
        name: 'cache_max_entries',
        help: "A cache's max (entries); absent for a cache bounded by bytes only.",
        type: 'gauge',
        values: (s) => each(s, (r) => r.maxEntries),
      },
      {
        name: 'cache_max_bytes',
        help: "A cache's byte bound now (a share of the memory limit resolved); absent for a cache bounded by entries only.",
        type: 'gauge',
        values: (s) => each(s, (r) => r.maxBytes),
      },
    ],
  })
}

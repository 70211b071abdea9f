import { type Collector, type FamilyValue, defineCollector } from '../metrics/collector.js'
import { LabelMemo } from '../metrics/label-memo.js'
import type { CacheRow } from './section.js'

/** The eviction reasons, as the `reason` label of `oomkit_cache_evictions_total` spells them. */
export const EVICTION_REASONS = ['capacity', 'expired', 'replaced', 'deleted'] as const

type Reason = (typeof EVICTION_REASONS)[number]

// The same frozen label objects every scrape (see LabelMemo): `reason` is '' for a cache's own.
const labelMemo = (): LabelMemo<Readonly<Record<string, string>>> =>
  new LabelMemo((cache, reason) => Object.freeze(reason === '' ? { cache } : { cache, reason }))

function each(labels: LabelMemo<Readonly<Record<string, string>>>, rows: readonly CacheRow[], value: (r: CacheRow) => number | null): FamilyValue[] {
  const out: FamilyValue[] = []
  for (const r of rows) {
    const v = value(r)
    if (v !== null) out.push({ value: v, labels: labels.get(r.name) })
  }
  return out
}

function evictions(labels: LabelMemo<Readonly<Record<string, string>>>, rows: readonly CacheRow[]): FamilyValue[] {
  const out: FamilyValue[] = []
  for (const r of rows) {
    for (const reason of EVICTION_REASONS as readonly Reason[]) out.push({ value: r.evictions[reason], labels: labels.get(r.name, reason) })
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
  const labels = labelMemo()
  return defineCollector({
    name: 'caches',
    read: () => {
      labels.flip()
      return rows()
    },
    families: [
      { name: 'cache_hits_total', help: 'Cache lookups answered from the cache.', type: 'counter', values: (s) => each(labels, s, (r) => r.hits) },
      {
        name: 'cache_misses_total',
        help: 'Cache lookups that found nothing (for getOrLoad and memoize: loads started).',
        type: 'counter',
        values: (s) => each(labels, s, (r) => r.misses),
      },
      {
        name: 'cache_evictions_total',
        help: 'Entries that left a cache, by reason: capacity (max or maxBytes), expired (ttlMs), replaced (set over), deleted (delete or clear).',
        type: 'counter',
        values: (s) => evictions(labels, s),
      },
      { name: 'cache_entries', help: 'Entries a cache holds.', type: 'gauge', values: (s) => each(labels, s, (r) => r.entries) },
      {
        name: 'cache_size_bytes',
        help: "Bytes a cache's entries hold, as its sizeOf counts them.",
        type: 'gauge',
        values: (s) => each(labels, s, (r) => r.bytes),
      },
      {
        name: 'cache_max_entries',
        help: "A cache's max (entries); absent for a cache bounded by bytes only.",
        type: 'gauge',
        values: (s) => each(labels, s, (r) => r.maxEntries),
      },
      {
        name: 'cache_max_bytes',
        help: "A cache's byte bound now (a share of the memory limit resolved); absent for a cache bounded by entries only.",
        type: 'gauge',
        values: (s) => each(labels, s, (r) => r.maxBytes),
      },
    ],
  })
}

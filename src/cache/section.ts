import type { CacheStats } from './bounded-cache.js'

/** One cache's row for the metrics collector, the report and the log. */
export interface CacheRow extends CacheStats {
  readonly name: string
  /** `kit` for `kit.cache`/`kit.memoize`, `global` for `createCache`/`memoize` from `oomkit`. */
  readonly scope: 'kit' | 'global'
  readonly ttlMs: number | null
  /** The `maxBytes` share as given (`'10%'`), or null. */
  readonly maxBytesShare: string | null
}

/** One cache in the report: its stats, bounds and its bytes as a share of the heap. */
export interface CacheReport extends CacheRow {
  /** bytes / V8 heap used now. */
  readonly heapShare: number | null
}

/** The report's `caches` section: every cache attached to the instance, largest first. */
export interface CachesSection {
  readonly count: number
  /** Bytes all of them hold, as their `sizeOf` counts. */
  readonly bytes: number
  /** V8 heap used when the section was read. */
  readonly heapUsedBytes: number
  /** bytes / heapUsedBytes. */
  readonly heapShare: number | null
  readonly caches: readonly CacheReport[]
}

const share = (bytes: number, heap: number): number | null => (heap > 0 ? Math.round((bytes / heap) * 10_000) / 10_000 : null)

/** Builds the section from the registry's rows and the heap used now. */
export function cachesSection(rows: readonly CacheRow[], heapUsedBytes: number): CachesSection {
  const bytes = rows.reduce((sum, r) => sum + r.bytes, 0)
  return {
    count: rows.length,
    bytes,
    heapUsedBytes,
    heapShare: share(bytes, heapUsedBytes),
    caches: rows.map((r) => ({ ...r, heapShare: share(r.bytes, heapUsedBytes) })),
  }
}

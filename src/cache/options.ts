import { OomkitError } from '../errors.js'
import { type IntRange, describeRange, inRange } from '../options/ranges.js'
import { boolOption, checkKeys, intOption, invalidOption, ratioOption } from '../options/validate.js'

/** A share of the memory limit, such as `'10%'`. */
export type LimitShare = `${number}%`

/** How big a cache may grow in bytes: a number of bytes, or a share of the container's memory limit. */
export type ByteBound = number | LimitShare

/** What every cache takes besides its bound. */
export interface CacheOptionsBase<K, V> {
  /**
   * Entries expire this long after they were set, in ms (1 to 31,536,000,000; 0 means none).
   * There is no timer per entry: an expired entry is dropped when it is read, and a bounded
   * sweep drops expired ones from the least recently used end on every sample.
   * @default none
   */
  ttlMs?: number
  /**
   * The bytes one entry holds, for `maxBytes` and the `bytes` stat. A fraction is rounded up and
   * less than 1 counts as 1.
   * @default the value's {@link estimateBytes}, the key's length and 112 bytes of entry overhead
   */
  sizeOf?: (value: V, key: K) => number
  /** The clock TTLs are measured on, in ms (tests pass their own). @default performance.now */
  now?: () => number
}

/**
 * A cache's bound: `max` entries, `maxBytes`, or both; one is required (an unbounded cache
 * cannot be created, in the types or at run time).
 */
export type CacheBounds =
  | {
      /** Most entries the cache holds (1 to 100,000,000); lru-cache preallocates about 40 bytes per slot. */
      max: number
      /** Most bytes its entries hold, as `sizeOf` counts them: a number, or a share of the container limit such as `'10%'`. */
      maxBytes?: ByteBound
    }
  | {
      /** Most entries the cache holds (1 to 100,000,000); lru-cache preallocates about 40 bytes per slot. */
      max?: number
      /** Most bytes its entries hold, as `sizeOf` counts them: a number, or a share of the container limit such as `'10%'`. */
      maxBytes: ByteBound
    }

/**
 * Options of `kit.cache(name, options)` and `createCache(name, options)`.
 *
 * @example
 * kit.cache('users', { max: 10_000, maxBytes: '5%', ttlMs: 60_000 })
 */
export type CacheOptions<K = unknown, V = unknown> = CacheOptionsBase<K, V> & CacheBounds

/** A cache's options after validation. */
export interface ResolvedCacheOptions<K, V> {
  readonly max: number | null
  /** A fixed byte bound, or null. */
  readonly maxBytes: number | null
  /** A share of the limit (0.1 for `'10%'`), or null. */
  readonly limitShare: number | null
  readonly ttlMs: number | null
  readonly sizeOf: ((value: V, key: K) => number) | null
  readonly now: (() => number) | null
}

/** Bounds of a cache's numeric options. */
export const CACHE_RANGES = Object.freeze({
  max: { min: 1, max: 100_000_000 },
  maxBytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
  ttlMs: { min: 1, max: 31_536_000_000, zeroOff: true },
  warnAfterLookups: { min: 1000, max: 1_000_000_000 },
} satisfies Record<string, IntRange>)

const CACHE_KEYS = new Set(['max', 'maxBytes', 'ttlMs', 'sizeOf', 'now'])
const SHARE = /^(\d+(?:\.\d+)?)%$/

/** The label a cache's options are named by in errors: `cache("users")`. */
export function cacheLabel(name: string): string {
  return `cache(${JSON.stringify(name)})`
}

/** Checks a cache's name: 1 to 128 characters, no control characters (it becomes a label value). */
export function checkCacheName(name: unknown, what = 'cache name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128 || /\p{Cc}/u.test(name)) {
    invalidOption(what, 'a string of 1 to 128 characters without control characters', name)
  }
  return name
}

function byteBound(label: string, value: unknown): { maxBytes: number | null; limitShare: number | null } {
  if (value === undefined) return { maxBytes: null, limitShare: null }
  if (typeof value === 'string') {
    const m = SHARE.exec(value)
    const percent = m === null ? NaN : Number(m[1])
    if (!(percent > 0 && percent <= 100))
      invalidOption(`${label}.maxBytes`, "bytes, or a share of the memory limit from '0.01%' to '100%' such as '10%'", value)
    return { maxBytes: null, limitShare: percent / 100 }
  }
  if (typeof value !== 'number' || !inRange(value, CACHE_RANGES.maxBytes)) {
    invalidOption(`${label}.maxBytes`, `${describeRange(CACHE_RANGES.maxBytes)} (bytes), or a share of the memory limit such as '10%'`, value)
  }
  return { maxBytes: value, limitShare: null }
}

function fnOption<T>(name: string, value: unknown): T | null {
  if (value === undefined) return null
  if (typeof value !== 'function') invalidOption(name, 'a function', value)
  return value as T
}

/** Validates a cache's options; at least one of `max` and `maxBytes` is required. */
export function resolveCacheOptions<K, V>(name: string, options: unknown): ResolvedCacheOptions<K, V> {
  const label = cacheLabel(name)
  if (options === undefined) {
    throw new OomkitError(
      'OOMKIT_INVALID_OPTION',
      `Invalid options of ${label}: expected { max } (entries) and/or { maxBytes } (bytes or '10%'): an unbounded cache cannot be created`,
    )
  }
  const o = checkKeys(label, options, CACHE_KEYS)
  if (o.max === undefined && o.maxBytes === undefined) {
    throw new OomkitError(
      'OOMKIT_INVALID_OPTION',
      `Invalid option ${label}.max: expected max (entries) and/or maxBytes (bytes or '10%'), got neither: an unbounded cache cannot be created`,
    )
  }
  const max = o.max === undefined ? null : intOption(`${label}.max`, o.max, 0, CACHE_RANGES.max)
  const ttlMs = intOption(`${label}.ttlMs`, o.ttlMs, 0, CACHE_RANGES.ttlMs)
  return Object.freeze({
    max,
    ...byteBound(label, o.maxBytes),
    ttlMs: ttlMs === 0 ? null : ttlMs,
    sizeOf: fnOption<(value: V, key: K) => number>(`${label}.sizeOf`, o.sizeOf),
    now: fnOption<() => number>(`${label}.now`, o.now),
  })
}

/** Options of the `caches` capability (`createOomkit({ caches })`): how caches are watched. */
export interface CachesOptions {
  /** Warn once per cache when it does not pay: a low hit ratio, or evicting most of what it inserts. @default true */
  warnings?: boolean
  /** Lookups (or inserts) a cache needs in a window before it is judged (1000 to 1,000,000,000). @default 100000 */
  warnAfterLookups?: number
  /** A hit ratio below this over a window warns (0 to 1). @default 0.1 */
  warnHitRatio?: number
}

/** `caches` after defaults. */
export type ResolvedCachesOptions = Readonly<Required<CachesOptions>>

/** Defaults of the `caches` option. */
export const CACHES_DEFAULTS: ResolvedCachesOptions = Object.freeze({ warnings: true, warnAfterLookups: 100_000, warnHitRatio: 0.1 })

const CACHES_KEYS = new Set(Object.keys(CACHES_DEFAULTS))

/**
 * Validates `caches`: an options object, or `false` to leave caches unwatched (no metrics,
 * report section, log fields or warnings; `kit.cache()` still makes bounded caches).
 */
export function resolveCaches(value: unknown): ResolvedCachesOptions | false {
  if (value === undefined) return CACHES_DEFAULTS
  if (value === false) return false
  const o = checkKeys('caches', value, CACHES_KEYS)
  const d = CACHES_DEFAULTS
  return Object.freeze({
    warnings: boolOption('caches.warnings', o.warnings, d.warnings),
    warnAfterLookups: intOption('caches.warnAfterLookups', o.warnAfterLookups, d.warnAfterLookups, CACHE_RANGES.warnAfterLookups),
    warnHitRatio: ratioOption('caches.warnHitRatio', o.warnHitRatio, d.warnHitRatio, 0, 1, false),
  })
}

import { OomkitError } from '../errors.js'
import type { BoundedCache, CacheStats } from './bounded-cache.js'
import { isThenable } from './in-flight.js'
import { defaultKey } from './key.js'
import type { ByteBound, CacheOptions } from './options.js'

/** Python's `CacheInfo(hits, misses, maxsize, currsize)`. */
export interface CacheInfo {
  readonly hits: number
  readonly misses: number
  /** `max`, or null when only `maxBytes` bounds it. */
  readonly maxsize: number | null
  readonly currsize: number
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any

/**
 * Options of `kit.memoize(fn, options)` and `memoize(fn, options)`. Without `max` or `maxBytes`
 * the cache holds 128 entries, as Python's `lru_cache`.
 */
export interface MemoizeOptions<F extends AnyFunction = AnyFunction> {
  /** The cache's name (unique per instance). @default fn.name (required for an anonymous function) */
  name?: string
  /** Most entries (1 to 100,000,000). @default 128 when maxBytes is not given either */
  max?: number
  /** Most bytes, or a share of the container limit such as `'1%'`. @default none */
  maxBytes?: ByteBound
  /** Results expire this long after they were computed, in ms. @default none */
  ttlMs?: number
  /** The bytes one result holds. @default the result's estimateBytes, the key's length and the entry overhead */
  sizeOf?: (value: Awaited<ReturnType<F>>, key: unknown) => number
  /**
   * The key of a call. `this` is passed through to `fn` but is never part of the default key.
   * @default the single primitive argument, or a stable serialisation of the arguments (see defaultKey)
   */
  key?: (...args: Parameters<F>) => unknown
}

/** What a memoized function has besides being the function. */
export interface MemoizedApi {
  /** The cache's name. */
  readonly cacheName: string
  /** Python's `cache_info()`. */
  cacheInfo(): CacheInfo
  /** Python's `cache_clear()`: empties the cache (the counters stay, as they do in metrics). */
  cacheClear(): void
  /** The cache's full stats, as `kit.cache(...).stats()`. */
  stats(): CacheStats
  /** Closes the cache: its series leave the metrics; later calls are not cached. */
  close(): void
}

/** A memoized function: `fn` itself, plus {@link MemoizedApi}. */
export type Memoized<F extends AnyFunction> = F & MemoizedApi

// lru-cache cannot hold undefined; a function may well return it.
const UNDEFINED: unique symbol = Symbol('oomkit.memoize.undefined')
const box = (v: unknown): unknown => (v === undefined ? UNDEFINED : v)
const unbox = (v: unknown): unknown => (v === UNDEFINED ? undefined : v)

/** The memoize name and the cache options of a memoize call. */
export function memoizeCacheOptions(
  fn: unknown,
  options: MemoizeOptions | undefined,
): { name: string; cache: CacheOptions; key: ((...args: unknown[]) => unknown) | null } {
  if (typeof fn !== 'function') throw new OomkitError('OOMKIT_INVALID_OPTION', 'Invalid argument of memoize: expected a function to memoize')
  const { name = fn.name, key, ...rest } = options ?? {}
  if (typeof name !== 'string' || name === '') {
    throw new OomkitError(
      'OOMKIT_INVALID_OPTION',
      'Invalid option memoize name: expected options.name for an anonymous function (it names the cache in metrics)',
    )
  }
  if (key !== undefined && typeof key !== 'function')
    throw new OomkitError('OOMKIT_INVALID_OPTION', `Invalid option memoize(${JSON.stringify(name)}).key: expected a function of the arguments`)
  const { sizeOf, ...bounds } = rest
  const cache: Record<string, unknown> = rest.max !== undefined || rest.maxBytes !== undefined ? bounds : { ...bounds, max: 128 }
  // The cache holds undefined results boxed; the user's sizeOf sees them as they were.
  if (sizeOf !== undefined) cache.sizeOf = typeof sizeOf === 'function' ? (v: unknown, k: unknown) => sizeOf(unbox(v), k) : sizeOf
  return { name, cache: cache as unknown as CacheOptions, key: (key as ((...args: unknown[]) => unknown) | undefined) ?? null }
}

/**
 * Wraps `fn` around a cache (made by the caller, so that it is named and attached like any
 * other). Sync and async functions alike: a thrown error or a rejection is never cached;
 * concurrent calls of an async function with one key share one promise; hits of an async
 * function resolve to the cached value.
 */
export function memoizeWith<F extends AnyFunction>(fn: F, cache: BoundedCache<unknown, unknown>, key: ((...args: unknown[]) => unknown) | null): Memoized<F> {
  const name = cache.name
  const keyOf = key ?? ((...args: unknown[]) => defaultKey(name, args))
  let isAsync = fn.constructor?.name === 'AsyncFunction'
  const memoized = function memoized(this: unknown, ...args: unknown[]): unknown {
    let k: unknown
    try {
      k = keyOf(...args)
    } catch (err) {
      if (isAsync) return Promise.reject(err)
      throw err
    }
    if (cache.closed) return fn.apply(this, args)
    const out = cache.memo(k, () => {
      const result: unknown = fn.apply(this, args)
      if (!isThenable(result)) return box(result)
      isAsync = true
      return Promise.resolve(result).then(box)
    })
    if (isThenable(out)) return out.then(unbox)
    return isAsync ? Promise.resolve(unbox(out)) : unbox(out)
  }
  Object.defineProperties(memoized, {
    name: { value: fn.name, configurable: true },
    length: { value: fn.length, configurable: true },
  })
  const api: MemoizedApi = {
    cacheName: name,
    cacheInfo() {
      const s = cache.stats()
      return { hits: s.hits, misses: s.misses, maxsize: s.maxEntries, currsize: s.entries }
    },
    cacheClear: () => cache.clear(),
    stats: () => cache.stats(),
    close: () => cache.close(),
  }
  return Object.assign(memoized, api) as unknown as Memoized<F>
}

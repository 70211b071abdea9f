/**
 * Caches made where no kit is at hand (`createCache`, `memoize` from `oomkit`), and the running
 * instances they attach to. This is the one piece of process-wide state in oomkit, and it is
 * here by design: library code cannot be handed the kit, so its caches find it. A global cache
 * attaches to the first instance started (oomkit/register's, when the app is preloaded with
 * it) that is still running and watches caches; when that one stops, to the next; with none
 * running it is a plain bounded cache.
 */
import { OomkitError } from '../errors.js'
import { locateMemoryCgroup, readContainerMemory } from '../container/index.js'
import { getHeapStatistics } from 'node:v8'
import { BoundedCache, type Cache } from './bounded-cache.js'
import { type Memoized, type MemoizeOptions, memoizeCacheOptions, memoizeWith } from './memoize.js'
import { type CacheOptions, cacheLabel, checkCacheName, resolveCacheOptions } from './options.js'

/** A running instance's registry, as the global caches see it. */
export interface GlobalHost {
  /** Takes a global cache in; false (after logging why) when it has a cache of that name already. */
  adopt(cache: BoundedCache<never, never>): boolean
}

const running: GlobalHost[] = []
const globals = new Map<string, BoundedCache<never, never>>()

/** Called by an instance's registry when it starts: the first one running takes the global caches. */
export function hostStarted(host: GlobalHost): void {
  if (running.includes(host)) return
  running.push(host)
  if (running[0] === host) for (const cache of globals.values()) if (cache.host === null) host.adopt(cache)
}

/** Called by an instance's registry when it stops, after it detached its caches: the next one running takes them. */
export function hostStopped(host: GlobalHost): void {
  const i = running.indexOf(host)
  if (i < 0) return
  running.splice(i, 1)
  const next = running[0]
  if (next !== undefined) for (const cache of globals.values()) if (cache.host === null) next.adopt(cache)
}

/** Whether a global cache is called that (kit caches check it, so that both never share a name in one instance). */
export function globalCacheNamed(name: string): BoundedCache<never, never> | undefined {
  return globals.get(name)
}

/** The container's limit, or V8's heap limit where there is none: what a share in `maxBytes` is taken of. */
export function processLimitBytes(): number {
  try {
    const location = locateMemoryCgroup('/proc', '/sys/fs/cgroup')
    const limit = location === null ? null : readContainerMemory(location).limitBytes
    if (limit !== null) return limit
  } catch {
    // No cgroup to read: the heap limit stands in.
  }
  return getHeapStatistics().heap_size_limit
}

function makeGlobal<K, V>(name: string, options: unknown): BoundedCache<K, V> {
  checkCacheName(name)
  if (globals.has(name)) throw duplicate(name, 'createCache')
  const resolved = resolveCacheOptions<K, V>(name, options)
  const cache: BoundedCache<K, V> = new BoundedCache(name, resolved, resolved.limitShare === null ? null : processLimitBytes(), () => {
    if (globals.get(name) === (cache as unknown)) globals.delete(name)
  })
  const as = cache as unknown as BoundedCache<never, never>
  const host = running[0]
  if (host !== undefined && !host.adopt(as)) throw duplicate(name, 'the running oomkit instance')
  globals.set(name, as)
  return cache
}

/** The error for a name taken twice. */
export function duplicate(name: string, where: string): OomkitError {
  return new OomkitError(
    'OOMKIT_DUPLICATE_CACHE',
    `${cacheLabel(name)} exists already in ${where}: cache names are unique; close the other one or pick another name`,
  )
}

/**
 * A bounded cache for code that has no kit at hand: it attaches to the running oomkit instance
 * (the one oomkit/register started, or the first started) and shows up in its metrics, report
 * and memory log; before any instance runs it is a plain bounded cache and attaches later.
 * Names are unique among these caches (and within the instance they attach to).
 *
 * @example
 * import { createCache } from 'oomkit'
 * const users = createCache('users', { max: 10_000, ttlMs: 60_000 })   // not `const users = {}`
 * const user = await users.getOrLoad(id, (id) => db.users.find(id))
 */
export function createCache<K = string, V = unknown>(name: string, options: CacheOptions<K, V>): Cache<K, V> {
  return makeGlobal<K, V>(name, options)
}

/**
 * oomkit's `functools.lru_cache` for code that has no kit at hand: attaches as
 * {@link createCache} does. See `kit.memoize`.
 *
 * @example
 * import { memoize } from 'oomkit'
 * export const lookup = memoize(async (id: string) => db.find(id), { name: 'lookup', max: 1000 })
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function memoize<F extends (...args: any[]) => any>(fn: F, options?: MemoizeOptions<F>): Memoized<F> {
  const m = memoizeCacheOptions(fn, options as MemoizeOptions | undefined)
  return memoizeWith(fn, makeGlobal<unknown, unknown>(m.name, m.cache), m.key)
}

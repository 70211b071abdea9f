import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { BoundedCache, type Cache, resolveCacheOptions } from '../../src/cache/index.js'
import { OomkitError, type Oomkit, createOomkit } from '../../src/index.js'
import { activeResources, leakedResources } from '../helpers/http.js'

const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function kit(): Oomkit {
  const k = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
  kits.push(k)
  return k
}

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1000
  return { now: () => t, advance: (ms) => void (t += ms) }
}

const deferred = <T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } => {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('TTL with an injected clock', () => {
  it('an entry lives ttlMs after its set, then is a miss, dropped and counted as expired; a get does not extend it', () => {
    const c = clock()
    const cache = kit().cache<string, string>('ttl', { max: 10, ttlMs: 100, now: c.now })
    cache.set('a', 'A')
    c.advance(60)
    expect(cache.get('a')).toBe('A')
    c.advance(40)
    expect(cache.get('a')).toBe('A') // exactly ttlMs old: still fresh
    c.advance(1)
    expect(cache.has('a')).toBe(false)
    expect(cache.peek('a')).toBeUndefined()
    expect(cache.size).toBe(1) // has/peek do not drop it
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, evictions: { expired: 1, capacity: 0, replaced: 0, deleted: 0 } })
  })

  it('a set restarts the clock of its key', () => {
    const c = clock()
    const cache = kit().cache<string, number>('ttl-reset', { max: 10, ttlMs: 100, now: c.now })
    cache.set('a', 1)
    c.advance(90)
    cache.set('a', 2)
    c.advance(90)
    expect(cache.get('a')).toBe(2)
    expect(cache.stats().evictions).toMatchObject({ replaced: 1, expired: 0 })
  })

  it('the sweep drops expired entries among the least recently used, bounded by its batch, without reads', () => {
    const c = clock()
    const cache = new BoundedCache<string, number>('sweep', resolveCacheOptions('sweep', { max: 100, ttlMs: 100, now: c.now }), null)
    for (let i = 0; i < 50; i++) cache.set(`old${i}`, i)
    c.advance(50)
    for (let i = 0; i < 10; i++) cache.set(`new${i}`, i)
    c.advance(60) // the old ones are 110 ms old, the new ones 60
    expect(cache.sweepExpired(20)).toBe(20)
    expect(cache.size).toBe(40)
    expect(cache.sweepExpired(1000)).toBe(30)
    expect(cache.size).toBe(10)
    expect(cache.stats()).toMatchObject({ misses: 0, hits: 0, evictions: { expired: 50 } })
    expect(cache.sweepExpired(1000)).toBe(0)
    // Iterating saw the expired entries only while the sweep ran.
    c.advance(100)
    expect([...Array(10).keys()].some((i) => cache.has(`new${i}`))).toBe(false)
  })

  it('sets no timer: thousands of TTL entries leave no handle behind', async () => {
    const before = activeResources()
    const cache = kit().cache<number, number>('no-timers', { max: 10_000, ttlMs: 50 })
    for (let i = 0; i < 5000; i++) cache.set(i, i)
    for (let i = 0; i < 5000; i++) cache.get(i)
    expect(await leakedResources(before)).toEqual([])
  })
})

describe('eviction reasons', () => {
  it('counts capacity, replaced and deleted apart; clear counts each entry as deleted; same value set again is no replacement', () => {
    const cache = kit().cache<string, number>('reasons', { max: 2 })
    cache.set('a', 1).set('b', 2).set('c', 3) // a out: capacity
    cache.set('b', 20) // replaced
    cache.set('b', 20) // the same value: nothing dropped
    expect(cache.delete('c')).toBe(true)
    expect(cache.delete('c')).toBe(false)
    cache.set('d', 4)
    cache.clear()
    expect(cache.stats()).toMatchObject({ sets: 6, entries: 0, evictions: { capacity: 1, replaced: 1, deleted: 3, expired: 0 } })
  })

  it('set(key, undefined) deletes, as lru-cache does', () => {
    const cache = kit().cache<string, number | undefined>('undef', { max: 2 })
    cache.set('a', 1)
    cache.set('a', undefined)
    expect(cache.has('a')).toBe(false)
    expect(cache.stats()).toMatchObject({ sets: 1, evictions: { deleted: 1 } })
  })
})

describe('getOrLoad', () => {
  it('runs one load per key however many ask at once; the joiners count as hits; the value is stored', async () => {
    const cache = kit().cache<string, string>('load', { max: 10 })
    const d = deferred<string>()
    let calls = 0
    const loader = (key: string): Promise<string> => {
      calls++
      return d.promise.then((v) => `${v}:${key}`)
    }
    const all = Promise.all([cache.getOrLoad('k', loader), cache.getOrLoad('k', loader), cache.getOrLoad('k', loader)])
    d.resolve('v')
    expect(await all).toEqual(['v:k', 'v:k', 'v:k'])
    expect(calls).toBe(1)
    expect(await cache.getOrLoad('k', loader)).toBe('v:k')
    expect(calls).toBe(1)
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 3, sets: 1, entries: 1 })
  })

  it('does not cache a rejection or a throw: the next call loads again', async () => {
    const cache = kit().cache<string, number>('reject', { max: 10 })
    const a = cache.getOrLoad('k', () => Promise.reject(new Error('db down')))
    const b = cache.getOrLoad('k', () => 2) // joins the failing load
    await expect(a).rejects.toThrow('db down')
    await expect(b).rejects.toThrow('db down')
    await expect(
      cache.getOrLoad('k', () => {
        throw new Error('sync throw')
      }),
    ).rejects.toThrow('sync throw')
    expect(await cache.getOrLoad('k', () => 3)).toBe(3)
    expect(cache.get('k')).toBe(3)
  })

  it('a set or delete of the key while it loads wins over the load; undefined is returned but not stored', async () => {
    const cache = kit().cache<string, string | undefined>('race', { max: 10 })
    const d = deferred<string>()
    const p = cache.getOrLoad('k', () => d.promise)
    cache.set('k', 'newer')
    d.resolve('stale')
    expect(await p).toBe('stale')
    expect(cache.get('k')).toBe('newer')

    const d2 = deferred<string>()
    const p2 = cache.getOrLoad('j', () => d2.promise)
    cache.delete('j')
    d2.resolve('stale')
    await p2
    expect(cache.has('j')).toBe(false)
    // After the delete a new call starts a new load.
    expect(await cache.getOrLoad('j', () => 'fresh')).toBe('fresh')

    expect(await cache.getOrLoad('u', () => undefined)).toBeUndefined()
    expect(cache.has('u')).toBe(false)
  })
})

describe('close', () => {
  it('empties the cache, frees its name, and later sets fail with OOMKIT_CACHE_CLOSED', async () => {
    const k = kit()
    const cache: Cache<string, number> = k.cache('closing', { max: 10 })
    cache.set('a', 1)
    cache.close()
    cache.close()
    expect(cache.size).toBe(0)
    expect(() => cache.set('a', 1)).toThrow(expect.objectContaining({ code: 'OOMKIT_CACHE_CLOSED' }))
    await expect(cache.getOrLoad('a', () => 1)).rejects.toBeInstanceOf(OomkitError)
    expect(k.cache('closing', { max: 1 }).name).toBe('closing')
  })
})

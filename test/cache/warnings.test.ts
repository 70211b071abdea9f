import { describe, expect, it } from 'vitest'
import { BoundedCache, CACHES_DEFAULTS, type CacheWarning, judgeCache, resolveCacheOptions, shortCount } from '../../src/cache/index.js'
import { createOomkit } from '../../src/index.js'
import { Registry } from 'prom-client'
import { captureLogger, until } from '../helpers/http.js'

const make = (max: number): BoundedCache<unknown, unknown> => new BoundedCache('users', resolveCacheOptions('users', { max }), null)
const OPTIONS = { ...CACHES_DEFAULTS, warnAfterLookups: 100_000 }

describe('cache warnings', () => {
  it('a hit ratio under 10% over a window of lookups warns once, with the advice', () => {
    const cache = make(1000)
    for (let i = 0; i < 4800; i++) cache.set(i % 1000, i)
    for (let i = 0; i < 120_000; i++) cache.get(i % 25 === 0 ? i % 1000 : -i)
    const w = judgeCache(cache, OPTIONS)
    expect(w).toMatchObject({ cache: 'users', kind: 'low-hit-ratio', lookups: 120_000, hits: 4800 })
    expect(w?.message).toBe('cache users: hit ratio 4% over 120k lookups; raise max or drop the cache')
    for (let i = 0; i < 200_000; i++) cache.get(-i)
    expect(judgeCache(cache, OPTIONS)).toBeNull() // once per cache
  })

  it('waits for enough lookups, and judges each window on its own', () => {
    const cache = make(10)
    cache.set('k', 1)
    for (let i = 0; i < 99_999; i++) cache.get('nope')
    expect(judgeCache(cache, OPTIONS)).toBeNull()
    // A long healthy history does not hide a cache that turned bad: the next window is judged alone.
    for (let i = 0; i < 1_000_000; i++) cache.get('k')
    expect(judgeCache(cache, OPTIONS)).toBeNull()
    for (let i = 0; i < 150_000; i++) cache.get('nope')
    expect(judgeCache(cache, OPTIONS)).toMatchObject({ kind: 'low-hit-ratio', lookups: 150_000, hits: 0 })
  })

  it('a cache that evicts most of what it inserts while most lookups miss (thrashing) warns; a full healthy one does not', () => {
    const thrash = make(1000)
    for (let i = 0; i < 200_000; i++) {
      const k = i % 1500 // the working set is bigger than the cache
      if (thrash.get(k) === undefined) thrash.set(k, i)
    }
    // LRU over a cyclic scan bigger than the cache never hits: the hit-ratio rule fires first.
    expect(judgeCache(thrash, OPTIONS)).toMatchObject({ kind: 'low-hit-ratio' })

    const churn = make(1000)
    let seed = 1
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let i = 0; i < 300_000; i++) {
      const k = Math.floor(rnd() * 3000) // about a third fits: ~33% hits
      if (churn.get(k) === undefined) churn.set(k, i)
    }
    const w = judgeCache(churn, OPTIONS) as CacheWarning
    expect(w.kind).toBe('evicts-most-inserts')
    expect(w.message).toMatch(/^cache users: evicted (9\d|100)% of 2\d\dk inserts for capacity, hit ratio 3\d%; raise max or drop the cache$/)

    const healthy = make(1000)
    for (let i = 0; i < 2_000_000; i++) {
      const k = Math.floor(rnd() * 1100) // ~90% hits: it evicts as much as it inserts, and is fine
      if (healthy.get(k) === undefined) healthy.set(k, i)
    }
    expect(healthy.stats().evictions.capacity).toBeGreaterThan(100_000)
    expect(judgeCache(healthy, OPTIONS)).toBeNull()

    const writeOnly = make(100)
    for (let i = 0; i < 100_000; i++) writeOnly.set(i, i)
    expect(judgeCache(writeOnly, OPTIONS)?.message).toBe('cache users: evicted 100% of 100k inserts for capacity, never read; raise max or drop the cache')
  })

  it('warnings: false is quiet; shortCount reads well', () => {
    const cache = make(1)
    for (let i = 0; i < 200_000; i++) cache.get(i)
    expect(judgeCache(cache, { ...OPTIONS, warnings: false })).toBeNull()
    expect([shortCount(999), shortCount(120_000), shortCount(1500), shortCount(3_400_000), shortCount(250_000_000)]).toEqual([
      '999',
      '120k',
      '1.5k',
      '3.4M',
      '250M',
    ])
  })

  it('an instance logs the warning once at warn and emits cacheWarning', async () => {
    const cap = captureLogger()
    const kit = createOomkit({
      logger: cap.logger,
      registry: new Registry(),
      logIntervalMs: 0,
      sampleIntervalMs: 100,
      defaultMetrics: false,
      heapProfile: false,
      caches: { warnAfterLookups: 1000 },
    })
    const seen: CacheWarning[] = []
    kit.on('cacheWarning', (w) => seen.push(w))
    const cache = kit.cache<number, number>('cold', { max: 10 })
    kit.start()
    try {
      for (let i = 0; i < 5000; i++) cache.get(i)
      await until(() => seen.length === 1, 'the warning')
      for (let i = 0; i < 5000; i++) cache.get(i)
      await new Promise((r) => setTimeout(r, 250))
      expect(seen).toHaveLength(1)
      const lines = cap.lines.filter((l) => l.level === 40 && l.cache === 'cold')
      expect(lines).toEqual([expect.objectContaining({ kind: 'low-hit-ratio', msg: 'cache cold: hit ratio 0% over 5k lookups; raise max or drop the cache' })])
    } finally {
      await kit.stop()
    }
  })
})

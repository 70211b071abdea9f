import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_KEY_DEPTH, MAX_KEY_LENGTH, defaultKey } from '../../src/cache/index.js'
import { type Oomkit, createOomkit } from '../../src/index.js'

const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function kit(): Oomkit {
  const k = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
  kits.push(k)
  return k
}

describe('memoize: sync functions', () => {
  it('computes once per key, reports cacheInfo like Python, and keeps 128 entries by default', () => {
    let calls = 0
    const sq = kit().memoize(function square(x: number) {
      calls++
      return x * x
    })
    expect([sq(3), sq(3), sq(4), sq(3)]).toEqual([9, 9, 16, 9])
    expect(calls).toBe(2)
    expect(sq.cacheInfo()).toEqual({ hits: 2, misses: 2, maxsize: 128, currsize: 2 })
    expect(sq.cacheName).toBe('square')
    expect(sq.name).toBe('square')
    for (let i = 0; i < 200; i++) sq(i)
    expect(sq.cacheInfo().currsize).toBe(128)
    sq.cacheClear()
    expect(sq.cacheInfo()).toMatchObject({ currsize: 0 })
  })

  it('does not cache a throw; caches undefined; passes this through', () => {
    let calls = 0
    const k = kit()
    const flaky = k.memoize(
      (x: string) => {
        calls++
        if (calls === 1) throw new Error('first time')
        return x === 'none' ? undefined : x.toUpperCase()
      },
      { name: 'flaky' },
    )
    expect(() => flaky('a')).toThrow('first time')
    expect(flaky('a')).toBe('A')
    expect(flaky('none')).toBeUndefined()
    expect(flaky('none')).toBeUndefined()
    expect(calls).toBe(3)
    const obj = {
      base: 10,
      add: k.memoize(function add(this: { base: number }, n: number) {
        return this.base + n
      }),
    }
    expect(obj.add(5)).toBe(15)
  })

  it('an anonymous function needs a name; a name is unique per instance', () => {
    const k = kit()
    expect(() => k.memoize((x: number) => x)).toThrow(/options.name/)
    k.memoize((x: number) => x, { name: 'ident' })
    expect(() => k.memoize((x: number) => x, { name: 'ident' })).toThrow(expect.objectContaining({ code: 'OOMKIT_DUPLICATE_CACHE' }))
  })
})

describe('memoize: async functions', () => {
  it('concurrent calls with one key share one promise; hits resolve to the cached value', async () => {
    let calls = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const fetchUser = kit().memoize(
      async (id: string) => {
        calls++
        await gate
        return { id }
      },
      { name: 'fetchUser', max: 10 },
    )
    const all = Promise.all([fetchUser('u1'), fetchUser('u1'), fetchUser('u1'), fetchUser('u2')])
    release()
    const [a, b, c, d] = await all
    expect(a).toEqual({ id: 'u1' })
    expect(b).toBe(a)
    expect(c).toBe(a)
    expect(d).toEqual({ id: 'u2' })
    expect(calls).toBe(2)
    const hit = fetchUser('u1')
    expect(hit).toBeInstanceOf(Promise)
    expect(await hit).toBe(a)
    expect(fetchUser.cacheInfo()).toEqual({ hits: 3, misses: 2, maxsize: 10, currsize: 2 })
  })

  it('does not cache a rejection: every caller in flight gets it, the next call runs again', async () => {
    let calls = 0
    const load = kit().memoize(
      async (k: string) => {
        calls++
        if (calls === 1) throw new Error(`no ${k}`)
        return k
      },
      { name: 'load' },
    )
    const [a, b] = [load('x'), load('x')]
    await expect(a).rejects.toThrow('no x')
    await expect(b).rejects.toThrow('no x')
    expect(await load('x')).toBe('x')
    expect(calls).toBe(2)
    expect(load.stats()).toMatchObject({ entries: 1, misses: 2, hits: 1 })
  })

  it('an unkeyable argument rejects for an async function and throws for a sync one', async () => {
    const k = kit()
    const a = k.memoize(async (m: Map<string, number>) => m.size, { name: 'asyncMap' })
    await expect(a(new Map())).rejects.toMatchObject({ code: 'OOMKIT_UNKEYABLE_ARGUMENTS' })
    const s = k.memoize((m: Map<string, number>) => m.size, { name: 'syncMap' })
    expect(() => s(new Map())).toThrow(/memoize\("syncMap"\) cannot key argument 0 \(a Map\).*pass options.key/)
    const keyed = k.memoize((m: Map<string, number>) => m.size, { name: 'keyedMap', key: (m) => [...m.keys()].join() })
    expect(keyed(new Map([['a', 1]]))).toBe(1)
    expect(keyed(new Map([['a', 2]]))).toBe(1) // same key: the first answer
  })

  it('a memoized cache is a cache like any other: in the metrics and the report, with ttlMs and maxBytes', async () => {
    const registry = new Registry()
    const k = createOomkit({ logger: pino({ level: 'silent' }), registry, logIntervalMs: 0, defaultMetrics: false })
    kits.push(k)
    const f = k.memoize((s: string) => s.repeat(10), { name: 'rep', maxBytes: 1 << 20, ttlMs: 60_000 })
    f('ab')
    f('ab')
    k.start()
    expect(await registry.metrics()).toMatch(/^oomkit_cache_hits_total\{cache="rep"\} 1$/m)
    expect(k.report().caches?.caches).toContainEqual(expect.objectContaining({ name: 'rep', ttlMs: 60_000, maxBytes: 1 << 20, entries: 1 }))
    f.close()
    expect(await registry.metrics()).not.toMatch(/cache="rep"/)
    expect(f('ab')).toBe('ab'.repeat(10)) // closed: computed, not cached
  })
})

describe('the default key', () => {
  const key = (...args: unknown[]): unknown => defaultKey('k', args)

  it('is the lone primitive itself, so f(1) and f("1") stay apart', () => {
    expect(key('a')).toBe('a')
    expect(key(1)).toBe(1)
    expect(key(-0)).toBe(0)
    expect(key(true)).toBe(true)
    expect(key(10n)).toBe(10n)
    const sym = Symbol('s')
    expect(key(sym)).toBe(sym)
    expect(key(1)).not.toBe(key('1'))
  })

  it('serialises the rest stably: object keys sorted, types kept apart', () => {
    expect(key({ a: 1, b: [2, 'x'] })).toBe(key({ b: [2, 'x'], a: 1 }))
    const distinct = [
      key(),
      key(null),
      key(undefined),
      key([]),
      key({}),
      key(1, 2),
      key([1, 2]),
      key('1', 2),
      key(1, '2'),
      key('\u0000x'),
      key(new Date(5)),
      key(5, undefined),
      key({ a: undefined }),
      key(NaN, NaN),
    ]
    expect(new Set(distinct).size).toBe(distinct.length)
    expect(key(new Date(5))).toBe(key(new Date(5)))
    expect(key('\u0000x')).not.toBe('\u0000x') // a marked string is serialised: never equal to a serialised key by accident
  })

  it('refuses what it cannot key, naming the argument and the limits', () => {
    const nested = (n: number): unknown => (n === 0 ? 1 : [nested(n - 1)])
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    class Point {
      constructor(readonly x: number) {}
    }
    expect(() => key(1, () => 1)).toThrow(/argument 1 \(a function\)/)
    expect(() => key([Symbol('x')])).toThrow(/argument 0 \(a symbol\)/)
    expect(() => key(new Point(1))).toThrow(/argument 0 \(a Point\)/)
    expect(() => key(new Set([1]))).toThrow(/a Set/)
    expect(() => key(Buffer.from('x'))).toThrow(/a Buffer/)
    expect(() => key(cyclic)).toThrow(new RegExp(`deeper than ${MAX_KEY_DEPTH} levels, or circular`))
    expect(() => key(nested(MAX_KEY_DEPTH + 1))).toThrow(/deeper than/)
    expect(key(nested(MAX_KEY_DEPTH))).toBeTypeOf('string')
    expect(() => key('x'.repeat(MAX_KEY_LENGTH + 10), 1)).toThrow(new RegExp(`longer than ${MAX_KEY_LENGTH} characters`))
  })
})

import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BYTES_RESAMPLE_MS, BYTES_SAMPLE } from '../../src/cache/bounded-cache.js'
import { ENTRY_OVERHEAD_BYTES, MAX_WALK_NODES, defaultSizeOf, estimateBytes, keyBytes, stringBytes } from '../../src/cache/index.js'
import { createOomkit } from '../../src/index.js'

const gc = (globalThis as { gc?: () => void }).gc

describe('estimateBytes: exact where it can be', () => {
  it('strings: one byte per Latin-1 character, two when any is not (as V8 stores them)', () => {
    expect(estimateBytes('')).toBe(0)
    expect(estimateBytes('hello')).toBe(5)
    expect(estimateBytes('héllo\u0000\u00ff')).toBe(7)
    expect(estimateBytes('h€llo')).toBe(10)
    expect(estimateBytes('😀')).toBe(4) // a surrogate pair: two UTF-16 units
    expect(stringBytes('a'.repeat(4096))).toBe(4096)
  })

  it('Buffers, typed arrays, DataViews and ArrayBuffers: their byteLength', () => {
    expect(estimateBytes(Buffer.alloc(1024))).toBe(1024)
    expect(estimateBytes(new Float64Array(100))).toBe(800)
    expect(estimateBytes(new Uint8Array(new ArrayBuffer(64), 8, 16))).toBe(16)
    expect(estimateBytes(new DataView(new ArrayBuffer(32)))).toBe(32)
    expect(estimateBytes(new ArrayBuffer(4096))).toBe(4096)
  })

  it('primitives', () => {
    expect(estimateBytes(42)).toBe(8)
    expect(estimateBytes(2n ** 200n)).toBe(32)
    expect(estimateBytes(true)).toBe(0)
    expect(estimateBytes(null)).toBe(0)
    expect(estimateBytes(undefined)).toBe(0)
  })

  it('the default sizeOf is the value, the key and the entry overhead', () => {
    expect(defaultSizeOf('abc', 'key')).toBe(3 + 3 + ENTRY_OVERHEAD_BYTES)
    expect(defaultSizeOf(Buffer.alloc(10), 7)).toBe(10 + 8 + ENTRY_OVERHEAD_BYTES)
    expect(keyBytes({})).toBe(8)
  })
})

describe('estimateBytes: objects, bounded', () => {
  it('counts small objects fully: headers, slots and nested strings', () => {
    // 24 header + 2 slots + string header 16 + 5 payload; the small integer lives in its slot.
    expect(estimateBytes({ id: 1, name: 'alice' })).toBe(24 + 16 + 16 + 5)
    expect(estimateBytes([1, 2, 3])).toBe(32 + 24)
    expect(estimateBytes({ x: 1.5 })).toBe(24 + 8 + 16) // a heap number
  })

  it('counts a shared or cyclic reference once, and terminates', () => {
    const shared = { s: 'x'.repeat(100) }
    const a: Record<string, unknown> = { p: shared, q: shared }
    a.self = a
    expect(estimateBytes(a)).toBe(24 + 3 * 8 + (24 + 8 + 16 + 100))
  })

  it(`never looks at more than ${MAX_WALK_NODES} values, however big the graph`, () => {
    let touched = 0
    const spy = (): object =>
      new Proxy(
        { a: 1, b: 'two', c: { d: 4 } },
        {
          get(target, p, r) {
            touched++
            return Reflect.get(target, p, r)
          },
          ownKeys(target) {
            touched++
            return Reflect.ownKeys(target)
          },
        },
      )
    const big = Array.from({ length: 100_000 }, spy)
    const deep: Record<string, unknown> = {}
    let node = deep
    for (let i = 0; i < 10_000; i++) node = (node.next = { n: i }) as Record<string, unknown>
    for (const graph of [big, { big }, [big, big], deep, new Map(big.map((v, i) => [i, v])), new Set(big)]) {
      touched = 0
      const started = performance.now()
      expect(estimateBytes(graph)).toBeGreaterThan(0)
      expect(performance.now() - started).toBeLessThan(200)
      // Each proxy visited costs one ownKeys and one get per property (3): at most the budget's worth.
      expect(touched).toBeLessThanOrEqual(MAX_WALK_NODES * 4)
    }
  })

  it('extrapolates a large homogeneous array close to what the heap really holds', () => {
    const heap = (): number => {
      gc!()
      gc!()
      return process.memoryUsage().heapUsed
    }
    const before = heap()
    const records = Array.from({ length: 50_000 }, (_, i) => ({ id: i, active: i % 2 === 0, tags: [i, i + 1], n: i + 0.5 }))
    const real = heap() - before
    const est = estimateBytes(records)
    // Measured on Node 20: 0.92 for this shape; the bound leaves room for other V8 versions.
    expect(est / real).toBeGreaterThan(0.6)
    expect(est / real).toBeLessThan(1.5)
    expect(records.length).toBe(50_000)
  })
})

describe('byte bounds with mixed value sizes', () => {
  it('never holds more than maxBytes after any set, evicts least recently used first, and refuses a value too big alone', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    const maxBytes = 64 * 1024
    const cache = kit.cache<number, Buffer | string>('mixed', { maxBytes, sizeOf: (v) => (typeof v === 'string' ? v.length : v.byteLength) })
    let seed = 7
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const model = new Map<number, number>() // key -> size, in recency order
    let capacity = 0
    for (let i = 0; i < 5000; i++) {
      const key = Math.floor(rnd() * 400)
      const size = [1, 100, 1000, 10_000, 30_000][Math.floor(rnd() * 5)]!
      const value = rnd() < 0.5 ? Buffer.alloc(size) : 's'.repeat(size)
      cache.set(key, value)
      model.delete(key)
      model.set(key, size)
      let total = [...model.values()].reduce((a, b) => a + b, 0)
      while (total > maxBytes) {
        const [oldest, s] = model.entries().next().value as [number, number]
        model.delete(oldest)
        total -= s
        capacity++
      }
      if (i % 97 === 0) cache.get(key) // keep recency honest: a read moves it up in both
      const stats = cache.stats()
      if (stats.bytes > maxBytes || stats.bytes !== total || stats.entries !== model.size)
        throw new Error(`step ${i}: ${JSON.stringify(stats)} vs ${total} in ${model.size}`)
    }
    expect(cache.stats()).toMatchObject({ bytesSampled: false, maxBytes, evictions: { capacity } })
    cache.set(-1, Buffer.alloc(maxBytes + 1))
    expect(cache.has(-1)).toBe(false)
    expect(cache.stats().evictions.capacity).toBe(capacity + 1)
  })

  it('a too-big value over an existing key removes the old value (counted as replaced)', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    const cache = kit.cache<string, string>('too-big', { maxBytes: 10, sizeOf: (v) => v.length })
    cache.set('a', 'small')
    cache.set('a', 'x'.repeat(11))
    expect(cache.get('a')).toBeUndefined()
    expect(cache.stats().evictions).toMatchObject({ capacity: 1, replaced: 1 })
  })

  it('a cache bounded by max only samples its bytes when read; sizeOf runs on no set', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    let calls = 0
    const cache = kit.cache<number, string>('sampled', { max: 10_000, sizeOf: (v) => (calls++, v.length) })
    for (let i = 0; i < 5000; i++) cache.set(i, 'x'.repeat(100))
    expect(calls).toBe(0)
    expect(cache.stats()).toMatchObject({ bytes: 500_000, bytesSampled: true })
    expect(calls).toBe(64)
  })

  it('a sampled estimate is kept while the cache barely changes, and taken again once it changed by more than 5% of its entries or is 5 s old', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    let calls = 0
    let t = 0
    const cache = kit.cache<number, string>('memo', { max: 10_000, now: () => t, sizeOf: (v) => (calls++, v.length) })
    for (let i = 0; i < 1000; i++) cache.set(i, 'x'.repeat(100))
    expect(cache.stats().bytes).toBe(100_000)
    expect(calls).toBe(BYTES_SAMPLE)
    // Read again and again, and after 50 changes (5% of 1000): the same estimate, nothing measured.
    expect(cache.stats().bytes).toBe(100_000)
    for (let i = 0; i < 50; i++) cache.set(i, 'y'.repeat(100))
    expect(cache.stats().bytes).toBe(100_000)
    expect(calls).toBe(BYTES_SAMPLE)
    // The 51st change is one too many: the newest 64 entries are sampled again (50 of them bigger now).
    cache.set(50, 'z'.repeat(300))
    // Newest first: key 50 (300 bytes), then 63 entries of 100.
    expect(cache.stats().bytes).toBe(Math.round(((300 + 63 * 100) / 64) * 1000))
    expect(calls).toBe(2 * BYTES_SAMPLE)
    // Emptied: 0 at once, not the old estimate.
    cache.clear()
    expect(cache.stats().bytes).toBe(0)
    // Refilled with bigger values, then read again: kept while nothing changes, sampled again at 5 s.
    for (let i = 0; i < 1000; i++) cache.set(i, 'w'.repeat(200))
    expect(cache.stats().bytes).toBe(200_000)
    const n = calls
    t += BYTES_RESAMPLE_MS - 1
    expect(cache.stats().bytes).toBe(200_000)
    expect(calls).toBe(n)
    t += 1
    expect(cache.stats().bytes).toBe(200_000)
    expect(calls).toBe(n + BYTES_SAMPLE)
  })

  it('a small cache (under 20 entries) is sampled again on any change', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    const cache = kit.cache<string, string>('small', { max: 100, sizeOf: (v) => v.length })
    cache.set('a', 'x'.repeat(10))
    expect(cache.stats().bytes).toBe(10)
    cache.set('b', 'x'.repeat(30))
    expect(cache.stats().bytes).toBe(40)
    cache.delete('a')
    expect(cache.stats().bytes).toBe(30)
  })

  it('a sizeOf that returns nonsense is an error naming the cache; fractions round up', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    const bad = kit.cache<string, number>('bad-size', { maxBytes: 100, sizeOf: (v) => v })
    expect(() => bad.set('a', NaN)).toThrow(/cache\("bad-size"\)\.sizeOf returned NaN/)
    expect(() => bad.set('a', -1)).toThrow(/returned -1/)
    bad.set('b', 0.2)
    bad.set('c', 2.5)
    expect(bad.stats()).toMatchObject({ bytes: 1 + 3, sets: 2 })
  })
})

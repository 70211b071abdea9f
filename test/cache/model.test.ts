// Exhaustive small-state orderings against a reference model (lru-cache's own tests check its
// structure the same way): every sequence of a few operations over three keys, run on the real
// cache and on a plain-array LRU that is obviously right, must give the same answers, the same
// order, the same counters and the same eviction reasons after every step.
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/index.js'
import { createOomkit } from '../../src/index.js'

type Op = readonly ['get' | 'has' | 'peek' | 'delete', string] | readonly ['set', string, number] | readonly ['clear']

/** An LRU as an array, least recently used first; sizes are the values themselves. */
class ReferenceLru {
  entries: [string, number][] = []
  hits = 0
  misses = 0
  sets = 0
  evictions = { capacity: 0, expired: 0, replaced: 0, deleted: 0 }

  constructor(
    readonly max: number | null,
    readonly maxBytes: number | null,
  ) {}

  #find(k: string): number {
    return this.entries.findIndex(([key]) => key === k)
  }

  get bytes(): number {
    return this.entries.reduce((s, [, v]) => s + v, 0)
  }

  get(k: string): number | undefined {
    const i = this.#find(k)
    if (i < 0) {
      this.misses++
      return undefined
    }
    const [e] = this.entries.splice(i, 1)
    this.entries.push(e!)
    this.hits++
    return e![1]
  }

  has(k: string): boolean {
    return this.#find(k) >= 0
  }

  peek(k: string): number | undefined {
    return this.entries[this.#find(k)]?.[1]
  }

  delete(k: string): boolean {
    const i = this.#find(k)
    if (i < 0) return false
    this.entries.splice(i, 1)
    this.evictions.deleted++
    return true
  }

  clear(): void {
    this.evictions.deleted += this.entries.length
    this.entries = []
  }

  set(k: string, v: number): void {
    this.sets++
    const i = this.#find(k)
    if (this.maxBytes !== null && v > this.maxBytes) {
      // Too big on its own: not stored, and an old value goes (lru-cache's rule).
      if (i >= 0) {
        this.entries.splice(i, 1)
        this.evictions.replaced++
      }
      this.evictions.capacity++
      return
    }
    if (i >= 0) {
      const [old] = this.entries.splice(i, 1)
      if (old![1] !== v) this.evictions.replaced++
    } else if (this.max !== null && this.entries.length >= this.max) {
      this.entries.shift()
      this.evictions.capacity++
    }
    this.entries.push([k, v])
    while (this.maxBytes !== null && this.bytes > this.maxBytes) {
      this.entries.shift()
      this.evictions.capacity++
    }
  }
}

const KEYS = ['a', 'b', 'c']

function alphabet(values: readonly number[], withClear: boolean): Op[] {
  const ops: Op[] = []
  for (const k of KEYS) {
    ops.push(['get', k], ['has', k], ['peek', k], ['delete', k])
    for (const v of values) ops.push(['set', k, v])
  }
  if (withClear) ops.push(['clear'])
  return ops
}

function* sequences(ops: readonly Op[], length: number): Generator<Op[]> {
  const idx = new Array<number>(length).fill(0)
  for (;;) {
    yield idx.map((i) => ops[i]!)
    let p = length - 1
    while (p >= 0 && ++idx[p]! === ops.length) idx[p--] = 0
    if (p < 0) return
  }
}

function apply(op: Op, cache: Cache<string, number>, model: ReferenceLru): [unknown, unknown] {
  switch (op[0]) {
    case 'get':
      return [cache.get(op[1]), model.get(op[1])]
    case 'has':
      return [cache.has(op[1]), model.has(op[1])]
    case 'peek':
      return [cache.peek(op[1]), model.peek(op[1])]
    case 'delete':
      return [cache.delete(op[1]), model.delete(op[1])]
    case 'set':
      cache.set(op[1], op[2])
      model.set(op[1], op[2])
      return [null, null]
    case 'clear':
      cache.clear()
      model.clear()
      return [null, null]
  }
}

function check(bounds: { max?: number; maxBytes?: number }, values: readonly number[], length: number, withClear: boolean): number {
  const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
  const ops = alphabet(values, withClear)
  let n = 0
  for (const seq of sequences(ops, length)) {
    const name = `m${n++}`
    const cache = kit.cache<string, number>(name, { ...bounds, sizeOf: (v: number) => v } as never)
    const model = new ReferenceLru(bounds.max ?? null, bounds.maxBytes ?? null)
    for (const [step, op] of seq.entries()) {
      const [got, want] = apply(op, cache, model)
      if (got !== want) throw new Error(`${JSON.stringify(seq)} step ${step}: got ${String(got)}, want ${String(want)}`)
      const s = cache.stats()
      const e = s.evictions
      const m = model.evictions
      const same =
        s.hits === model.hits &&
        s.misses === model.misses &&
        s.sets === model.sets &&
        s.entries === model.entries.length &&
        e.capacity === m.capacity &&
        e.expired === m.expired &&
        e.replaced === m.replaced &&
        e.deleted === m.deleted &&
        (bounds.maxBytes === undefined || s.bytes === model.bytes)
      if (!same)
        throw new Error(`${JSON.stringify(seq)} step ${step}: stats ${JSON.stringify(s)} vs model ${JSON.stringify({ ...model, entries: model.entries })}`)
      for (const k of KEYS) {
        if (cache.peek(k) !== model.peek(k))
          throw new Error(`${JSON.stringify(seq)} step ${step}: ${k} is ${String(cache.peek(k))}, want ${String(model.peek(k))}`)
      }
    }
    // Recency: the model's order, least recently used first, is the order the cache evicts in.
    // Filling the cache with fresh keys pushes the old ones out one at a time.
    const order = model.entries.map(([k]) => k)
    const evicted: string[] = []
    for (let i = 0; evicted.length < order.length && i < 10; i++) {
      cache.set(`fresh${i}`, 1)
      for (const k of order) if (!evicted.includes(k) && !cache.has(k)) evicted.push(k)
    }
    if (JSON.stringify(evicted) !== JSON.stringify(order)) {
      throw new Error(`${JSON.stringify(seq)}: evicted in order ${evicted.join(',')}, want ${order.join(',')}`)
    }
    cache.close()
  }
  return n
}

describe('the cache against a reference LRU, every ordering', () => {
  // Sizes are the values: with maxBytes, 3 is too big for a bound of 2 on its own.
  it('max 2: every sequence of 4 operations (get, has, peek, delete, set of two values) over 3 keys', () => {
    expect(check({ max: 2 }, [1, 2], 4, false)).toBe(18 ** 4)
  })

  it('max 1 and max 3, with clear: every sequence of 3 operations', () => {
    expect(check({ max: 1 }, [1, 2], 3, true)).toBe(19 ** 3)
    expect(check({ max: 3 }, [1, 2], 3, true)).toBe(19 ** 3)
  })

  it('maxBytes 4 with sizes 1 to 3: every sequence of 4 operations', () => {
    expect(check({ maxBytes: 4 }, [1, 2, 3], 4, false)).toBe(21 ** 4)
  })

  it('maxBytes 2 (3 is too big alone) and max 2 together, with clear: every sequence of 3 operations', () => {
    expect(check({ max: 2, maxBytes: 2 }, [1, 2, 3], 3, true)).toBe(22 ** 3)
  })
})

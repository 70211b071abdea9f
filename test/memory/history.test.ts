import { describe, expect, it } from 'vitest'
import { Ring } from '../../src/memory/history.js'

describe('Ring', () => {
  it.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('rejects capacity %s', (capacity) => {
    expect(() => new Ring(capacity)).toThrow(RangeError)
  })

  it('is empty at first', () => {
    const ring = new Ring<number>(3)
    expect(ring.size).toBe(0)
    expect(ring.last()).toBeUndefined()
    expect(ring.toArray()).toEqual([])
  })

  it('keeps entries oldest first until full', () => {
    const ring = new Ring<number>(3)
    ring.push(1)
    ring.push(2)
    expect(ring.size).toBe(2)
    expect(ring.last()).toBe(2)
    expect(ring.toArray()).toEqual([1, 2])
  })

  it('overwrites the oldest past capacity, at every wrap position', () => {
    const ring = new Ring<number>(3)
    const pushed: number[] = []
    for (let i = 1; i <= 10; i++) {
      ring.push(i)
      pushed.push(i)
      expect(ring.size).toBe(Math.min(i, 3))
      expect(ring.last()).toBe(i)
      expect(ring.toArray()).toEqual(pushed.slice(-3))
    }
  })

  it('holds one entry with capacity 1', () => {
    const ring = new Ring<string>(1)
    ring.push('a')
    ring.push('b')
    expect(ring.toArray()).toEqual(['b'])
    expect(ring.size).toBe(1)
  })

  it('clears, then fills again from the start', () => {
    const ring = new Ring<number>(2)
    for (let i = 0; i < 5; i++) ring.push(i)
    ring.clear()
    expect(ring.size).toBe(0)
    expect(ring.last()).toBeUndefined()
    expect(ring.toArray()).toEqual([])
    ring.push(7)
    expect(ring.toArray()).toEqual([7])
  })

  it('returns a copy: changing it does not change the ring', () => {
    const ring = new Ring<number>(2)
    ring.push(1)
    const out = ring.toArray()
    out.push(99)
    expect(ring.toArray()).toEqual([1])
  })

  it('lets overwritten and cleared entries be collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc, 'vitest.config.ts runs the workers with --expose-gc').toBeTypeOf('function')
    const ring = new Ring<object>(2)
    const refs: WeakRef<object>[] = []
    const pushTracked = (): void => {
      const o = { payload: new Array(100).fill(0) }
      refs.push(new WeakRef(o))
      ring.push(o)
    }
    pushTracked() // overwritten below
    pushTracked()
    pushTracked()
    const kept = refs.slice(1)
    // WeakRef targets stay alive until the current job ends.
    await new Promise((resolve) => setImmediate(resolve))
    gc!()
    expect(refs[0]!.deref()).toBeUndefined()
    expect(kept.every((r) => r.deref() !== undefined)).toBe(true)
    ring.clear()
    await new Promise((resolve) => setImmediate(resolve))
    gc!()
    expect(kept.map((r) => r.deref())).toEqual([undefined, undefined])
  })
})

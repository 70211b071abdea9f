import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { resolveCacheOptions, resolveCaches } from '../../src/cache/index.js'
import { type CacheOptions, createCache, createOomkit } from '../../src/index.js'

const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })

// Checked by `tsc` (npm run lint), never run: an unbounded cache is a type error.
export function typeChecks(): void {
  kit.cache('ok-max', { max: 1 })
  kit.cache('ok-bytes', { maxBytes: 1 << 20 })
  kit.cache('ok-share', { maxBytes: '10%' })
  kit.cache('ok-both', { max: 10, maxBytes: '2.5%', ttlMs: 1000 })
  // @ts-expect-error neither max nor maxBytes: unbounded
  kit.cache('unbounded', {})
  // @ts-expect-error ttlMs alone does not bound a cache
  kit.cache('ttl-only', { ttlMs: 1000 })
  // @ts-expect-error options are required
  kit.cache('no-options')
  // @ts-expect-error a share is a number and a percent sign
  kit.cache('bad-share', { maxBytes: 'ten%' })
  // @ts-expect-error the same for createCache
  createCache('unbounded', {})
  const typed = kit.cache<string, { id: number }>('typed', { max: 1, sizeOf: (v, k) => v.id + k.length })
  // @ts-expect-error a value of the wrong type
  typed.set('a', 'not a user')
  const bounded: CacheOptions = { maxBytes: '1%' }
  void bounded
  const m = kit.memoize(async (id: number) => `user ${id}`, { max: 10, key: (id) => id })
  const r: Promise<string> = m(1)
  void r
  // @ts-expect-error memoized keeps the parameter types
  void m('1')
}

describe('cache options at run time', () => {
  it('refuses an unbounded cache, naming the option', () => {
    for (const bad of [undefined, {}, { ttlMs: 1000 }, { sizeOf: () => 1 }]) {
      expect(() => kit.cache('c', bad as never)).toThrow(
        expect.objectContaining({
          code: 'OOMKIT_INVALID_OPTION',
          message: expect.stringMatching(/cache\("c"\).*max.*maxBytes.*unbounded cache cannot be created/),
        }),
      )
    }
    expect(() => createCache('c', {} as never)).toThrow(/Invalid option cache\("c"\)\.max: expected max \(entries\) and\/or maxBytes/)
  })

  it('checks every option against its form', () => {
    const cases: [unknown, RegExp][] = [
      [{ max: 0 }, /cache\("c"\)\.max: expected an integer from 1 to 100000000, got 0/],
      [{ max: 1.5 }, /\.max: expected an integer/],
      [{ max: 1e9 }, /\.max:/],
      [{ maxBytes: 0 }, /\.maxBytes: expected an integer from 1 to \d+ \(bytes\), or a share of the memory limit such as '10%', got 0/],
      [{ maxBytes: '0%' }, /\.maxBytes: expected bytes, or a share of the memory limit from '0.01%' to '100%'/],
      [{ maxBytes: '101%' }, /got "101%"/],
      [{ maxBytes: '10 %' }, /got "10 %"/],
      [{ max: 1, ttlMs: -1 }, /\.ttlMs: expected an integer from 0 to 31536000000, got -1/],
      [{ max: 1, sizeOf: 5 }, /\.sizeOf: expected a function, got 5/],
      [{ max: 1, now: 'x' }, /\.now: expected a function/],
      [{ max: 1, maxEntries: 5 }, /Unknown option cache\("c"\)\.maxEntries: expected one of max, maxBytes, now, sizeOf, ttlMs/],
    ]
    for (const [options, message] of cases) expect(() => resolveCacheOptions('c', options), JSON.stringify(options)).toThrow(message)
    expect(resolveCacheOptions('c', { maxBytes: '12.5%', ttlMs: 0 })).toMatchObject({ max: null, maxBytes: null, limitShare: 0.125, ttlMs: null })
  })

  it('checks the name', () => {
    for (const name of ['', 'x'.repeat(129), 'bad\nname', 42])
      expect(() => kit.cache(name as string, { max: 1 })).toThrow(/cache name: expected a string of 1 to 128 characters/)
  })

  it('validates the caches option of createOomkit', () => {
    expect(resolveCaches(undefined)).toEqual({ warnings: true, warnAfterLookups: 100_000, warnHitRatio: 0.1 })
    expect(resolveCaches(false)).toBe(false)
    expect(() => createOomkit({ caches: { warnHitRatio: 2 } })).toThrow(/caches\.warnHitRatio: expected a number from 0 to 1, got 2/)
    expect(() => createOomkit({ caches: { warnAfterLookups: 10 } })).toThrow(/caches\.warnAfterLookups/)
    expect(() => createOomkit({ caches: { nope: 1 } as never })).toThrow(/Unknown option caches\.nope/)
    expect(() => createOomkit({ caches: true as never })).toThrow(/caches: expected a plain object/)
  })
})

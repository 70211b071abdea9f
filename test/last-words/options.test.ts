import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, createOomkit } from '../../src/index.js'
import { LAST_WORDS_DEFAULTS, resolveLastWords } from '../../src/last-words/index.js'

const quiet = pino({ level: 'silent' })

describe('lastWords option', () => {
  it('defaults to on, with the documented bounds, frozen', () => {
    expect(resolveLastWords(undefined)).toEqual({ maxCaptures: 3, maxFiles: 20, maxBytes: 64 * 1024 * 1024, heapNearRatio: 0.9 })
    expect(DEFAULTS.lastWords).toBe(LAST_WORDS_DEFAULTS)
    expect(Object.isFrozen(resolveLastWords({ maxFiles: 30 }))).toBe(true)
    expect(createOomkit({ logger: quiet, registry: new Registry() }).options.lastWords).toEqual(LAST_WORDS_DEFAULTS)
  })

  it('takes false, partial objects and the ends of every range', () => {
    expect(resolveLastWords(false)).toBe(false)
    expect(resolveLastWords({ maxCaptures: 0 })).toMatchObject({ maxCaptures: 0, maxFiles: 20 })
    expect(resolveLastWords({ maxCaptures: 100, maxFiles: 6, maxBytes: 1_048_576, heapNearRatio: 0.5 })).toEqual({
      maxCaptures: 100,
      maxFiles: 6,
      maxBytes: 1_048_576,
      heapNearRatio: 0.5,
    })
    expect(resolveLastWords({ maxFiles: 10_000, maxBytes: 4_294_967_296, heapNearRatio: 0.99 })).toMatchObject({
      maxFiles: 10_000,
      maxBytes: 4_294_967_296,
      heapNearRatio: 0.99,
    })
  })

  it.each([
    [{ maxCaptures: -1 }, /lastWords\.maxCaptures: expected an integer from 0 to 100, got -1/],
    [{ maxCaptures: 1.5 }, /lastWords\.maxCaptures/],
    [{ maxFiles: 5 }, /lastWords\.maxFiles: expected an integer from 6 to 10000, got 5/],
    [{ maxBytes: 1000 }, /lastWords\.maxBytes: expected an integer from 1048576 to 4294967296, got 1000/],
    [{ heapNearRatio: 1 }, /lastWords\.heapNearRatio: expected a number from 0.5 to 0.99, got 1/],
    [{ heapNearRatio: '0.9' }, /lastWords\.heapNearRatio: expected a number from 0.5 to 0.99, got "0.9"/],
    [{ maxFile: 3 }, /Unknown option lastWords\.maxFile: expected one of heapNearRatio, maxBytes, maxCaptures, maxFiles/],
    [true, /Invalid option lastWords: expected a plain object, got true/],
  ])('refuses %o with OOMKIT_INVALID_OPTION naming it', (value, message) => {
    expect(() => createOomkit({ logger: quiet, registry: new Registry(), lastWords: value as never })).toThrow(
      expect.objectContaining({ code: 'OOMKIT_INVALID_OPTION', message: expect.stringMatching(message) as unknown }),
    )
  })
})

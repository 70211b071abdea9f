import client, { Registry } from 'prom-client'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, resolveOptions } from '../src/config.js'
import { OomkitError, createOomkit } from '../src/index.js'

const quiet = pino({ level: 'silent' })

/** Runs fn and returns the OomkitError it throws (fails the test if it throws anything else or nothing). */
function thrown(fn: () => unknown): OomkitError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(OomkitError)
    return err as OomkitError
  }
  throw new Error('expected an OomkitError, nothing was thrown')
}

// [option, value given, expected form (as the message words it), the value as the message quotes it]
const BAD: [string, unknown, string, string][] = [
  ['sampleIntervalMs', -1, 'an integer from 100 to 3600000', '-1'],
  ['sampleIntervalMs', 0, 'an integer from 100 to 3600000', '0'],
  ['sampleIntervalMs', 99, 'an integer from 100 to 3600000', '99'],
  ['sampleIntervalMs', 1500.5, 'an integer from 100 to 3600000', '1500.5'],
  ['sampleIntervalMs', Number.NaN, 'an integer from 100 to 3600000', 'NaN'],
  ['sampleIntervalMs', Number.POSITIVE_INFINITY, 'an integer from 100 to 3600000', 'Infinity'],
  ['sampleIntervalMs', '5000', 'an integer from 100 to 3600000', '"5000"'],
  ['sampleIntervalMs', '5s', 'an integer from 100 to 3600000', '"5s"'],
  ['sampleIntervalMs', null, 'an integer from 100 to 3600000', 'null'],
  ['logIntervalMs', -1000, 'an integer from 0 to 86400000', '-1000'],
  ['logIntervalMs', 500, '0 (off) or an integer from 1000 to 86400000', '500'],
  ['logIntervalMs', 1000.5, 'an integer from 0 to 86400000', '1000.5'],
  ['logIntervalMs', Number.NaN, 'an integer from 0 to 86400000', 'NaN'],
  ['logIntervalMs', '30s', 'an integer from 0 to 86400000', '"30s"'],
  ['historySize', 0, 'an integer from 1 to 10000', '0'],
  ['historySize', 10_001, 'an integer from 1 to 10000', '10001'],
  ['historySize', 2.5, 'an integer from 1 to 10000', '2.5'],
  ['collectorTimeoutMs', 0, 'an integer from 10 to 10000', '0'],
  ['collectorTimeoutMs', 5, 'an integer from 10 to 10000', '5'],
  ['warnRatio', 1.5, 'a number above 0 and up to 1', '1.5'],
  ['warnRatio', 0, 'a number above 0 and up to 1', '0'],
  ['warnRatio', -0.2, 'a number above 0 and up to 1', '-0.2'],
  ['warnRatio', Number.NaN, 'a number above 0 and up to 1', 'NaN'],
  ['warnRatio', '0.8', 'a number above 0 and up to 1', '"0.8"'],
  ['criticalRatio', 1.01, 'a number above 0 and up to 1', '1.01'],
  ['criticalRatio', 0, 'a number above 0 and up to 1', '0'],
  ['criticalRatio', true, 'a number above 0 and up to 1', 'true'],
  ['heapRatio', 0.05, 'a number from 0.1 to 0.95', '0.05'],
  ['heapRatio', 0.99, 'a number from 0.1 to 0.95', '0.99'],
  ['heapRatio', 0, 'a number from 0.1 to 0.95', '0'],
  ['cgroupRoot', '', 'a non-empty path string', '""'],
  ['cgroupRoot', 42, 'a non-empty path string', '42'],
  ['cgroupRoot', '/sys/fs/\0cgroup', 'a non-empty path string', '"/sys/fs/\\u0000cgroup"'],
  ['procRoot', '', 'a non-empty path string', '""'],
  ['diagnosticsDir', '', 'a non-empty path string', '""'],
  ['diagnosticsDir', ['/tmp'], 'a non-empty path string', 'an array'],
  ['defaultMetrics', 'yes', 'true or false', '"yes"'],
  ['defaultMetrics', 1, 'true or false', '1'],
  ['logger', {}, 'a pino logger (an object with info, warn, error and debug methods)', 'an object'],
  ['logger', { info() {}, warn() {}, error() {} }, 'a pino logger (an object with info, warn, error and debug methods)', 'an object'],
  ['logger', 'console', 'a pino logger (an object with info, warn, error and debug methods)', '"console"'],
  ['logger', null, 'a pino logger (an object with info, warn, error and debug methods)', 'null'],
  ['registry', {}, 'a prom-client Registry', 'an object'],
  ['registry', new Map(), 'a prom-client Registry', 'an object'],
  // A classic slip: the prom-client module instead of its default registry.
  ['registry', client, 'a prom-client Registry', 'an object'],
  ['registry', 'default', 'a prom-client Registry', '"default"'],
]

describe('createOomkit option validation', () => {
  it.each(BAD)('rejects %s = %o', (name, value, expected, shown) => {
    const err = thrown(() => createOomkit({ [name]: value } as never))
    expect(err.code).toBe('OOMKIT_INVALID_OPTION')
    expect(err.name).toBe('OomkitError')
    expect(err.message).toContain(name)
    expect(err.message).toContain(`expected ${expected}`)
    expect(err.message).toContain(`got ${shown}`)
  })

  it.each([
    [{ warnRatio: 0.9, criticalRatio: 0.9 }, 'criticalRatio (0.9)', '0.9'],
    [{ warnRatio: 0.95, criticalRatio: 0.9 }, 'criticalRatio (0.9)', '0.95'],
    [{ warnRatio: 0.96 }, 'criticalRatio (0.95)', '0.96'],
    [{ criticalRatio: 0.5 }, 'criticalRatio (0.5)', '0.85'],
  ])('rejects warnRatio ≥ criticalRatio: %o', (options, expected, shown) => {
    const err = thrown(() => createOomkit(options))
    expect(err.code).toBe('OOMKIT_INVALID_OPTION')
    expect(err.message).toContain('warnRatio')
    expect(err.message).toContain(`expected a number below ${expected}`)
    expect(err.message).toContain(`got ${shown}`)
  })

  it.each([['sampleInterval'], ['warn_ratio'], ['token'], ['cgroup_root']])('rejects the unknown option %s, naming it and the known ones', (key) => {
    const err = thrown(() => createOomkit({ [key]: 1 } as never))
    expect(err.code).toBe('OOMKIT_INVALID_OPTION')
    expect(err.message).toContain(`Unknown option ${key}`)
    for (const known of Object.keys(DEFAULTS)) expect(err.message).toContain(known)
  })

  it.each([
    ['null', null, 'null'],
    ['a number', 5, '5'],
    ['a string', 'warnRatio=0.8', '"warnRatio=0.8"'],
    ['an array', [{ warnRatio: 0.8 }], 'an array'],
    ['a function', () => ({}), 'a function'],
    ['a Map', new Map([['warnRatio', 0.8]]), 'an object'],
    [
      'a class instance',
      new (class Options {
        warnRatio = 0.8
      })(),
      'an object',
    ],
  ])('rejects options that are %s', (_what, value, shown) => {
    const err = thrown(() => createOomkit(value as never))
    expect(err.code).toBe('OOMKIT_INVALID_OPTION')
    expect(err.message).toContain('options')
    expect(err.message).toContain('expected a plain object')
    expect(err.message).toContain(`got ${shown}`)
  })

  it('accepts the boundaries of every range', () => {
    expect(() =>
      createOomkit({
        logger: quiet,
        registry: new Registry(),
        sampleIntervalMs: 100,
        logIntervalMs: 0,
        historySize: 1,
        warnRatio: 0.01,
        criticalRatio: 1,
        heapRatio: 0.1,
        collectorTimeoutMs: 10,
      }),
    ).not.toThrow()
    expect(() =>
      createOomkit({
        logger: quiet,
        registry: new Registry(),
        sampleIntervalMs: 3_600_000,
        logIntervalMs: 86_400_000,
        historySize: 10_000,
        heapRatio: 0.95,
        collectorTimeoutMs: 10_000,
      }),
    ).not.toThrow()
    expect(() => createOomkit({ logger: quiet, logIntervalMs: 1000 })).not.toThrow()
    // An option given as undefined takes its default, as if absent.
    expect(createOomkit({ logger: quiet, warnRatio: undefined } as never).options.warnRatio).toBe(DEFAULTS.warnRatio)
  })

  it('validates before doing anything: a bad option registers nothing', () => {
    const registry = new Registry()
    expect(() => createOomkit({ registry, logger: quiet, warnRatio: 2 })).toThrow(OomkitError)
    expect(registry.getMetricsAsArray()).toHaveLength(0)
  })
})

describe('resolved options', () => {
  it('are frozen', () => {
    const kit = createOomkit({ logger: quiet, registry: new Registry(), warnRatio: 0.7 })
    expect(Object.isFrozen(kit.options)).toBe(true)
    expect(() => {
      ;(kit.options as { warnRatio: number }).warnRatio = 0.1
    }).toThrow(TypeError)
    expect(kit.options.warnRatio).toBe(0.7)
    expect(Object.isFrozen(DEFAULTS)).toBe(true)
  })

  it('default to the DEFAULTS export, with the documented values', () => {
    const resolved = resolveOptions()
    for (const [key, value] of Object.entries(DEFAULTS)) expect(resolved[key as keyof typeof DEFAULTS]).toBe(value)
    expect(resolved.logger).toBeUndefined()
    expect(resolved.registry).toBeUndefined()
    // The SPEC's numbers: a change here is a change of the public contract.
    expect(DEFAULTS).toMatchObject({
      sampleIntervalMs: 5000,
      logIntervalMs: 30_000,
      warnRatio: 0.85,
      criticalRatio: 0.95,
      cgroupRoot: '/sys/fs/cgroup',
    })
  })

  it("fall back to prom-client's default registry and a pino logger", () => {
    const kit = createOomkit()
    expect(kit.registry).toBe(client.register)
    expect(typeof kit.logger.info).toBe('function')
    expect(kit.options.logger).toBeUndefined()
  })

  it('keep what was given', () => {
    const registry = new Registry()
    const kit = createOomkit({ logger: quiet, registry, cgroupRoot: '/x/cgroup', procRoot: '/x/proc', historySize: 7, defaultMetrics: false })
    expect(kit.logger).toBe(quiet)
    expect(kit.registry).toBe(registry)
    expect(kit.options).toMatchObject({ cgroupRoot: '/x/cgroup', procRoot: '/x/proc', historySize: 7, defaultMetrics: false })
  })
})

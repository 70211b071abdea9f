/**
 * readEnv / parseDuration: what oomkit/register builds from OOMKIT_* variables. A bad value throws
 * OOMKIT_INVALID_ENV naming the variable and the expected form; unset or empty keeps the default;
 * everything readEnv accepts, createOomkit and listen accept too.
 */
import { describe, expect, it } from 'vitest'
import { ENV_VARS, OomkitError, createOomkit, parseDuration, readEnv } from '../src/index.js'

function envError(env: Record<string, string>): OomkitError {
  try {
    readEnv(env)
  } catch (err) {
    expect(err).toBeInstanceOf(OomkitError)
    expect((err as OomkitError).code).toBe('OOMKIT_INVALID_ENV')
    return err as OomkitError
  }
  throw new Error(`readEnv accepted ${JSON.stringify(env)}`)
}

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1500ms', 1500],
    ['1h', 3_600_000],
    ['1ms', 1],
    [' 30s ', 30_000],
    ['0s', 0],
    ['999999999ms', 999_999_999],
  ])('%j = %i ms', (value, ms) => {
    expect(parseDuration('OOMKIT_X', value)).toBe(ms)
  })

  it('0 alone only where it means off', () => {
    expect(parseDuration('OOMKIT_LOG_INTERVAL', '0', true)).toBe(0)
    expect(() => parseDuration('OOMKIT_SAMPLE_INTERVAL', '0')).toThrow(/OOMKIT_SAMPLE_INTERVAL=0: expected a duration such as 30s, 5m or 1500ms/)
  })

  it.each(['abc', '', '5', '30', '30 s', '30S', '1.5s', '-5s', '+5s', '5d', '5sec', 's', '1e3ms', '0x10s', '30s5m', '1234567890s', '٣s'])(
    '%j throws naming the variable and the expected form',
    (value) => {
      let error: unknown
      try {
        parseDuration('OOMKIT_LOG_INTERVAL', value, true)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(OomkitError)
      expect((error as OomkitError).code).toBe('OOMKIT_INVALID_ENV')
      expect((error as Error).message).toContain(`OOMKIT_LOG_INTERVAL=${value}: expected a duration such as 30s, 5m or 1500ms`)
    },
  )

  it('quotes a long value shortened', () => {
    expect(() => parseDuration('OOMKIT_LOG_INTERVAL', 'x'.repeat(500))).toThrow(/OOMKIT_LOG_INTERVAL=x{57}\.\.\.: expected/)
  })
})

describe('readEnv', () => {
  it('no variables: defaults (port 9469 on 127.0.0.1, no token, core options left to createOomkit)', () => {
    expect(readEnv({})).toEqual({ options: {}, listen: { port: 9469, host: '127.0.0.1' } })
  })

  it('empty variables are the same as unset', () => {
    const empty = Object.fromEntries(Object.keys(ENV_VARS).map((k) => [k, '']))
    expect(readEnv(empty)).toEqual({ options: {}, listen: { port: 9469, host: '127.0.0.1' } })
  })

  it('ignores other variables', () => {
    expect(readEnv({ PATH: '/bin', OOMKIT_REQUIRE_ALL: '1', PORT: '3000' })).toEqual({ options: {}, listen: { port: 9469, host: '127.0.0.1' } })
  })

  it('reads every variable', () => {
    expect(
      readEnv({
        OOMKIT_PORT: '0',
        OOMKIT_HOST: '0.0.0.0',
        OOMKIT_TOKEN: 'tok-123',
        OOMKIT_METRICS_TOKEN: 'met-456',
        OOMKIT_SAMPLE_INTERVAL: '1500ms',
        OOMKIT_LOG_INTERVAL: '5m',
        OOMKIT_WARN_RATIO: '0.7',
        OOMKIT_CRITICAL_RATIO: '0.9',
        OOMKIT_DIAGNOSTICS_DIR: '/var/tmp/oomkit',
        OOMKIT_HEAP_PROFILE: '65536',
      }),
    ).toEqual({
      options: {
        sampleIntervalMs: 1500,
        logIntervalMs: 300_000,
        warnRatio: 0.7,
        criticalRatio: 0.9,
        diagnosticsDir: '/var/tmp/oomkit',
        heapProfile: { intervalBytes: 65_536 },
      },
      listen: { port: 0, host: '0.0.0.0', token: 'tok-123', metricsToken: 'met-456' },
    })
  })

  it('OOMKIT_LOG_INTERVAL=0 turns the periodic log off; 0 is not a sampling interval', () => {
    expect(readEnv({ OOMKIT_LOG_INTERVAL: '0' }).options.logIntervalMs).toBe(0)
    expect(envError({ OOMKIT_SAMPLE_INTERVAL: '0' }).message).toContain('OOMKIT_SAMPLE_INTERVAL=0: expected a duration')
  })

  it('OOMKIT_HEAP_PROFILE: on, off (any case), or bytes', () => {
    expect(readEnv({ OOMKIT_HEAP_PROFILE: 'on' }).options.heapProfile).toBeUndefined()
    expect(readEnv({ OOMKIT_HEAP_PROFILE: 'OFF' }).options.heapProfile).toBe(false)
    expect(readEnv({ OOMKIT_HEAP_PROFILE: '524288' }).options.heapProfile).toEqual({ intervalBytes: 524_288 })
    expect(readEnv({ OOMKIT_HEAP_PROFILE: '1024' }).options.heapProfile).toEqual({ intervalBytes: 1024 })
  })

  it.each([
    ['OOMKIT_LOG_INTERVAL', 'abc', 'OOMKIT_LOG_INTERVAL=abc: expected a duration such as 30s, 5m or 1500ms'],
    ['OOMKIT_LOG_INTERVAL', '500ms', 'OOMKIT_LOG_INTERVAL=500ms: expected a duration from 1s to 24h (or 0 for off)'],
    ['OOMKIT_LOG_INTERVAL', '25h', 'OOMKIT_LOG_INTERVAL=25h'],
    ['OOMKIT_SAMPLE_INTERVAL', '5', 'OOMKIT_SAMPLE_INTERVAL=5: expected a duration such as 30s, 5m or 1500ms'],
    ['OOMKIT_SAMPLE_INTERVAL', '5ms', 'OOMKIT_SAMPLE_INTERVAL=5ms: expected a duration from 100ms to 1h'],
    ['OOMKIT_SAMPLE_INTERVAL', '2h', 'OOMKIT_SAMPLE_INTERVAL=2h: expected a duration from 100ms to 1h'],
    ['OOMKIT_PORT', '99999', 'OOMKIT_PORT=99999: expected a port number from 0 to 65535'],
    ['OOMKIT_PORT', '-1', 'OOMKIT_PORT=-1'],
    ['OOMKIT_PORT', 'http', 'OOMKIT_PORT=http'],
    ['OOMKIT_PORT', '80.5', 'OOMKIT_PORT=80.5'],
    ['OOMKIT_PORT', '65536', 'OOMKIT_PORT=65536'],
    ['OOMKIT_WARN_RATIO', '2', 'OOMKIT_WARN_RATIO=2: expected a number above 0 and up to 1'],
    ['OOMKIT_WARN_RATIO', '0', 'OOMKIT_WARN_RATIO=0'],
    ['OOMKIT_WARN_RATIO', '85%', 'OOMKIT_WARN_RATIO=85%'],
    ['OOMKIT_WARN_RATIO', 'NaN', 'OOMKIT_WARN_RATIO=NaN'],
    ['OOMKIT_WARN_RATIO', '0.97', 'OOMKIT_WARN_RATIO=0.97: expected a number below OOMKIT_CRITICAL_RATIO (0.95)'],
    ['OOMKIT_CRITICAL_RATIO', '1.5', 'OOMKIT_CRITICAL_RATIO=1.5'],
    ['OOMKIT_CRITICAL_RATIO', '0.5', 'OOMKIT_CRITICAL_RATIO=0.5: expected a number above OOMKIT_WARN_RATIO (0.85)'],
    ['OOMKIT_HEAP_PROFILE', 'foo', 'OOMKIT_HEAP_PROFILE=foo: expected on, off, or a sampling interval in bytes'],
    ['OOMKIT_HEAP_PROFILE', '100', 'OOMKIT_HEAP_PROFILE=100'],
    ['OOMKIT_HEAP_PROFILE', '99999999', 'OOMKIT_HEAP_PROFILE=99999999'],
    ['OOMKIT_HEAP_PROFILE', 'true', 'OOMKIT_HEAP_PROFILE=true'],
  ])('%s=%j throws naming the variable', (name, value, message) => {
    expect(envError({ [name]: value }).message).toContain(message)
  })

  it('a bad token fails naming the variable, never echoing the value', () => {
    for (const [name, value] of [
      ['OOMKIT_TOKEN', 'has space-s3cret'],
      ['OOMKIT_TOKEN', 'tök-s3cret'],
      ['OOMKIT_METRICS_TOKEN', 'a\tb-s3cret'],
      ['OOMKIT_TOKEN', `x${'y'.repeat(4096)}`],
    ] as const) {
      const err = envError({ [name]: value })
      expect(err.message).toContain(name)
      expect(err.message).not.toContain('s3cret')
      expect(err.message).not.toContain('yyyy')
    }
  })

  it('the pair of ratios is checked together', () => {
    expect(readEnv({ OOMKIT_WARN_RATIO: '0.5', OOMKIT_CRITICAL_RATIO: '0.6' }).options).toEqual({ warnRatio: 0.5, criticalRatio: 0.6 })
    expect(envError({ OOMKIT_WARN_RATIO: '0.6', OOMKIT_CRITICAL_RATIO: '0.6' }).message).toContain(
      'OOMKIT_WARN_RATIO=0.6: expected a number below OOMKIT_CRITICAL_RATIO (0.6)',
    )
    expect(readEnv({ OOMKIT_CRITICAL_RATIO: '1' }).options.criticalRatio).toBe(1)
  })

  it('whatever readEnv accepts, createOomkit accepts (bounds at the edges)', () => {
    for (const env of [
      { OOMKIT_SAMPLE_INTERVAL: '100ms', OOMKIT_LOG_INTERVAL: '1s' },
      { OOMKIT_SAMPLE_INTERVAL: '1h', OOMKIT_LOG_INTERVAL: '24h' },
      { OOMKIT_SAMPLE_INTERVAL: '60m', OOMKIT_LOG_INTERVAL: '1440m' },
      { OOMKIT_LOG_INTERVAL: '0' },
      { OOMKIT_LOG_INTERVAL: '0s' },
      { OOMKIT_WARN_RATIO: '0.01', OOMKIT_CRITICAL_RATIO: '1.0' },
      { OOMKIT_HEAP_PROFILE: '16777216' },
      { OOMKIT_HEAP_PROFILE: 'off' },
    ]) {
      const { options } = readEnv(env)
      expect(() => createOomkit(options), JSON.stringify(env)).not.toThrow()
    }
  })
})

// oomkit/register's Pyroscope: the standard PYROSCOPE_* variables (the ones @pyroscope/nodejs
// reads, and its documented auth ones) and OOMKIT_PYROSCOPE, through readEnv; a bad value fails
// naming the variable, and whatever readEnv accepts createOomkit accepts.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OomkitError, PYROSCOPE_ENV_VARS, createOomkit, readEnv } from '../../src/index.js'

const ADDRESS = { PYROSCOPE_SERVER_ADDRESS: 'http://pyroscope:4040', PYROSCOPE_APPLICATION_NAME: 'checkout' }

function envError(env: Record<string, string>): string {
  try {
    readEnv(env)
  } catch (err) {
    expect(err).toBeInstanceOf(OomkitError)
    expect((err as OomkitError).code).toBe('OOMKIT_INVALID_ENV')
    return (err as Error).message
  }
  throw new Error(`readEnv accepted ${JSON.stringify(env)}`)
}

describe('PYROSCOPE_* variables', () => {
  it('leave Pyroscope off when PYROSCOPE_SERVER_ADDRESS is unset', () => {
    expect(readEnv({ PYROSCOPE_APPLICATION_NAME: 'checkout', PYROSCOPE_FLUSH_INTERVAL_MS: 'garbage' }).options.pyroscope).toBeUndefined()
    expect(readEnv({ ...ADDRESS, OOMKIT_PYROSCOPE: 'off', PYROSCOPE_FLUSH_INTERVAL_MS: 'garbage' }).options.pyroscope).toBe(false)
  })

  it('turn it on with the address and the name', () => {
    expect(readEnv(ADDRESS).options.pyroscope).toEqual({ serverAddress: 'http://pyroscope:4040', appName: 'checkout' })
    // Pyroscope's adhoc address wins, as in @pyroscope/nodejs; OTEL_SERVICE_NAME names the app when nothing else does.
    expect(
      readEnv({ PYROSCOPE_SERVER_ADDRESS: 'http://a:4040', PYROSCOPE_ADHOC_SERVER_ADDRESS: 'http://b:4040', OTEL_SERVICE_NAME: 'otel-svc' }).options.pyroscope,
    ).toEqual({ serverAddress: 'http://b:4040', appName: 'otel-svc' })
    // OOMKIT_PYROSCOPE=on without an address: Pyroscope's default server.
    expect(readEnv({ OOMKIT_PYROSCOPE: 'on', PYROSCOPE_APPLICATION_NAME: 'x' }).options.pyroscope).toEqual({ appName: 'x' })
  })

  it('read every variable', () => {
    expect(
      readEnv({
        ...ADDRESS,
        PYROSCOPE_BASIC_AUTH_USER: '123456',
        PYROSCOPE_BASIC_AUTH_PASSWORD: 'glc_x',
        PYROSCOPE_TENANT_ID: 'team-a',
        PYROSCOPE_FLUSH_INTERVAL_MS: '15000',
        PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES: '262144',
        PYROSCOPE_HEAP_STACK_DEPTH: '32',
        PYROSCOPE_WALL_SAMPLING_DURATION_MS: '10000',
        PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS: '5000',
        PYROSCOPE_WALL_COLLECT_CPU_TIME: 'true',
        PYROSCOPE_STRIP_FILENAMES: 'dependencies',
        PYROSCOPE_SHORTEN_PATHS: '1',
      }).options.pyroscope,
    ).toEqual({
      serverAddress: 'http://pyroscope:4040',
      appName: 'checkout',
      basicAuthUser: '123456',
      basicAuthPassword: 'glc_x',
      tenantID: 'team-a',
      flushIntervalMs: 15_000,
      heap: { samplingIntervalBytes: 262_144, stackDepth: 32 },
      wall: { samplingDurationMs: 10_000, samplingIntervalMicros: 5000, collectCpuTime: true },
      stripFilenames: 'dependencies',
      shortenPaths: true,
    })
    expect(readEnv({ ...ADDRESS, PYROSCOPE_AUTH_TOKEN: 'tok-1' }).options.pyroscope).toMatchObject({ authToken: 'tok-1' })
  })

  it('OOMKIT_PYROSCOPE=wall or heap sends one profile', () => {
    expect(readEnv({ ...ADDRESS, OOMKIT_PYROSCOPE: 'wall' }).options.pyroscope).toMatchObject({ heap: false })
    expect(readEnv({ ...ADDRESS, OOMKIT_PYROSCOPE: 'HEAP' }).options.pyroscope).toMatchObject({ wall: false })
  })

  it.each([
    [{ ...ADDRESS, OOMKIT_PYROSCOPE: 'yes' }, 'OOMKIT_PYROSCOPE=yes: expected on, off, wall or heap'],
    [{ ...ADDRESS, PYROSCOPE_SERVER_ADDRESS: 'pyroscope:4040' }, 'PYROSCOPE_SERVER_ADDRESS=pyroscope:4040: expected an http:// or https:// URL'],
    [{ PYROSCOPE_SERVER_ADDRESS: 'http://pyroscope:4040' }, 'PYROSCOPE_APPLICATION_NAME: expected the application name'],
    [{ ...ADDRESS, PYROSCOPE_APPLICATION_NAME: 'a=b' }, 'PYROSCOPE_APPLICATION_NAME=a=b: expected a name'],
    [{ PYROSCOPE_SERVER_ADDRESS: 'http://p:4040', OTEL_SERVICE_NAME: 'a,b' }, 'OTEL_SERVICE_NAME=a,b'],
    [{ ...ADDRESS, PYROSCOPE_FLUSH_INTERVAL_MS: 'abc' }, 'PYROSCOPE_FLUSH_INTERVAL_MS=abc: expected an integer number of ms from 1000 to 3600000'],
    [{ ...ADDRESS, PYROSCOPE_FLUSH_INTERVAL_MS: '10s' }, 'PYROSCOPE_FLUSH_INTERVAL_MS=10s'],
    [{ ...ADDRESS, PYROSCOPE_FLUSH_INTERVAL_MS: '10' }, 'PYROSCOPE_FLUSH_INTERVAL_MS=10'],
    [{ ...ADDRESS, PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES: '-1' }, 'PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES=-1'],
    [{ ...ADDRESS, PYROSCOPE_HEAP_STACK_DEPTH: '0' }, 'PYROSCOPE_HEAP_STACK_DEPTH=0'],
    [{ ...ADDRESS, PYROSCOPE_WALL_SAMPLING_DURATION_MS: '1.5' }, 'PYROSCOPE_WALL_SAMPLING_DURATION_MS=1.5'],
    [{ ...ADDRESS, PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS: '1' }, 'PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS=1'],
    [{ ...ADDRESS, PYROSCOPE_WALL_COLLECT_CPU_TIME: 'yes' }, 'PYROSCOPE_WALL_COLLECT_CPU_TIME=yes: expected true or false'],
    [{ ...ADDRESS, PYROSCOPE_STRIP_FILENAMES: 'none' }, 'PYROSCOPE_STRIP_FILENAMES=none: expected all or dependencies'],
    [{ ...ADDRESS, PYROSCOPE_SHORTEN_PATHS: 'maybe' }, 'PYROSCOPE_SHORTEN_PATHS=maybe'],
    [{ ...ADDRESS, PYROSCOPE_BASIC_AUTH_USER: 'u' }, 'PYROSCOPE_BASIC_AUTH_PASSWORD: expected to be set with its pair'],
    [
      { ...ADDRESS, PYROSCOPE_AUTH_TOKEN: 't', PYROSCOPE_BASIC_AUTH_USER: 'u', PYROSCOPE_BASIC_AUTH_PASSWORD: 'p' },
      'PYROSCOPE_AUTH_TOKEN: expected either PYROSCOPE_AUTH_TOKEN or basic auth',
    ],
  ])('%j fails naming the variable', (env, message) => {
    expect(envError(env)).toContain(message)
  })

  it('never echoes a secret, nor an address with credentials', () => {
    for (const name of ['PYROSCOPE_AUTH_TOKEN', 'PYROSCOPE_TENANT_ID', 'PYROSCOPE_BASIC_AUTH_PASSWORD'] as const) {
      const env: Record<string, string> = { ...ADDRESS, PYROSCOPE_BASIC_AUTH_USER: 'u', PYROSCOPE_BASIC_AUTH_PASSWORD: 'p', [name]: 'bad s3cret' }
      if (name === 'PYROSCOPE_AUTH_TOKEN') {
        delete env.PYROSCOPE_BASIC_AUTH_USER
        delete env.PYROSCOPE_BASIC_AUTH_PASSWORD
      }
      const message = envError(env)
      expect(message).toContain(name)
      expect(message).not.toContain('s3cret')
    }
    const message = envError({ ...ADDRESS, PYROSCOPE_SERVER_ADDRESS: 'http://user:s3cret@pyroscope:4040' })
    expect(message).toContain('PYROSCOPE_SERVER_ADDRESS: expected')
    expect(message).not.toContain('s3cret')
  })

  it('whatever readEnv accepts, createOomkit accepts', () => {
    for (const env of [
      ADDRESS,
      { ...ADDRESS, OOMKIT_PYROSCOPE: 'wall', PYROSCOPE_FLUSH_INTERVAL_MS: '1000', PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS: '100' },
      {
        ...ADDRESS,
        OOMKIT_PYROSCOPE: 'heap',
        PYROSCOPE_FLUSH_INTERVAL_MS: '3600000',
        PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES: '16777216',
        PYROSCOPE_HEAP_STACK_DEPTH: '512',
      },
      { ...ADDRESS, PYROSCOPE_WALL_SAMPLING_DURATION_MS: '3600000', PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS: '1000000', PYROSCOPE_AUTH_TOKEN: 'x' },
    ]) {
      const { options } = readEnv(env)
      expect(() => createOomkit(options), JSON.stringify(env)).not.toThrow()
    }
  })

  it("the README's Pyroscope variable table lists exactly these", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8').split('\n')
    const start = readme.findIndex((l) => l.startsWith('| Pyroscope variable |'))
    const rows = readme.slice(start + 2).filter((_, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('|')))
    expect(rows.map((r) => /`([A-Z_]+)`/.exec(r)?.[1]).sort()).toEqual(Object.keys(PYROSCOPE_ENV_VARS).sort())
  })
})

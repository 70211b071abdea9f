// The `pyroscope` option: off by default, validated at createOomkit with the option named, and the
// tags every profile carries.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, OomkitError, createOomkit } from '../../src/index.js'
import { PYROSCOPE_DEFAULTS, applicationName, effectiveTags, ingestHeaders, ingestUrl, resolvePyroscope } from '../../src/pyroscope/index.js'

const NO_ENV = {}

function invalid(value: unknown, env: NodeJS.ProcessEnv = NO_ENV): string {
  try {
    resolvePyroscope(value, env)
  } catch (err) {
    expect(err).toBeInstanceOf(OomkitError)
    expect((err as OomkitError).code).toBe('OOMKIT_INVALID_OPTION')
    return (err as Error).message
  }
  throw new Error(`accepted ${JSON.stringify(value)}`)
}

describe('resolvePyroscope', () => {
  it('is off unless given: the default is false, and createOomkit takes it', () => {
    expect(DEFAULTS.pyroscope).toBe(false)
    expect(resolvePyroscope(undefined)).toBe(false)
    expect(resolvePyroscope(false)).toBe(false)
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), pyroscope: { appName: 'svc' } })
    expect(kit.options.pyroscope).toMatchObject({ appName: 'svc', serverAddress: 'http://localhost:4040' })
  })

  it("applies Pyroscope's defaults and freezes the result", () => {
    const r = resolvePyroscope({ appName: 'svc' }, NO_ENV)
    expect(r).toEqual({ ...PYROSCOPE_DEFAULTS, appName: 'svc' })
    expect(Object.isFrozen(r)).toBe(true)
    expect(PYROSCOPE_DEFAULTS).toMatchObject({
      flushIntervalMs: 60_000,
      uploadTimeoutMs: 10_000,
      heap: { samplingIntervalBytes: 524_288, stackDepth: 64 },
      wall: { samplingDurationMs: 60_000, samplingIntervalMicros: 10_000, collectCpuTime: false },
    })
  })

  it('takes every option', () => {
    expect(
      resolvePyroscope(
        {
          serverAddress: 'https://profiles-prod-001.grafana.net/',
          appName: 'checkout',
          tags: { region: 'eu', build: 7 },
          defaultTags: false,
          basicAuthUser: '123456',
          basicAuthPassword: 'glc_x',
          tenantID: 'team-a',
          flushIntervalMs: 15_000,
          uploadTimeoutMs: 2000,
          heap: false,
          wall: { collectCpuTime: true },
          stripFilenames: 'dependencies',
          shortenPaths: true,
        },
        NO_ENV,
      ),
    ).toEqual({
      serverAddress: 'https://profiles-prod-001.grafana.net',
      appName: 'checkout',
      tags: { region: 'eu', build: '7' },
      defaultTags: false,
      authToken: null,
      basicAuthUser: '123456',
      basicAuthPassword: 'glc_x',
      tenantID: 'team-a',
      flushIntervalMs: 15_000,
      uploadTimeoutMs: 2000,
      heap: false,
      wall: { samplingDurationMs: 60_000, samplingIntervalMicros: 10_000, collectCpuTime: true },
      stripFilenames: 'dependencies',
      shortenPaths: true,
    })
  })

  it('takes the application name from OTEL_SERVICE_NAME, and needs one', () => {
    expect(resolvePyroscope({}, { OTEL_SERVICE_NAME: 'from-otel' })).toMatchObject({ appName: 'from-otel' })
    expect(resolvePyroscope({ appName: 'mine' }, { OTEL_SERVICE_NAME: 'from-otel' })).toMatchObject({ appName: 'mine' })
    expect(invalid({})).toMatch(/^Invalid option pyroscope\.appName: expected the application name .*OTEL_SERVICE_NAME/)
    expect(invalid({}, { OTEL_SERVICE_NAME: 'a{b}' })).toContain('OTEL_SERVICE_NAME (pyroscope.appName)')
  })

  it.each([
    [{ appName: 'a', serverAddress: 'ftp://x' }, 'pyroscope.serverAddress: expected an http:// or https:// URL'],
    [{ appName: 'a', serverAddress: 'http://user:pass@pyroscope:4040' }, 'pyroscope.serverAddress'],
    [{ appName: 'a', serverAddress: 'http://pyroscope:4040/?x=1' }, 'pyroscope.serverAddress'],
    [{ appName: 'a', serverAddress: 'not a url' }, 'pyroscope.serverAddress'],
    [{ appName: 'app{x}' }, 'pyroscope.appName: expected a string of 1 to 1024 characters without {, }, , or ='],
    [{ appName: '' }, 'pyroscope.appName'],
    [{ appName: 'a', tags: { 'bad key': 'x' } }, 'pyroscope.tags.bad key'],
    [{ appName: 'a', tags: { '1st': 'x' } }, 'pyroscope.tags.1st'],
    [{ appName: 'a', tags: { region: 'eu,us' } }, 'pyroscope.tags.region'],
    [{ appName: 'a', tags: { region: { x: 1 } } }, 'pyroscope.tags.region'],
    [{ appName: 'a', tags: ['x'] }, 'pyroscope.tags: expected a plain object'],
    [{ appName: 'a', flushIntervalMs: 500 }, 'pyroscope.flushIntervalMs: expected an integer from 1000 to 3600000'],
    [{ appName: 'a', uploadTimeoutMs: 0 }, 'pyroscope.uploadTimeoutMs'],
    [{ appName: 'a', heap: { samplingIntervalBytes: 10 } }, 'pyroscope.heap.samplingIntervalBytes'],
    [{ appName: 'a', heap: { interval: 10 } }, 'Unknown option pyroscope.heap.interval'],
    [{ appName: 'a', wall: { samplingIntervalMicros: 5 } }, 'pyroscope.wall.samplingIntervalMicros'],
    [{ appName: 'a', wall: { collectCpuTime: 'yes' } }, 'pyroscope.wall.collectCpuTime: expected true or false'],
    [{ appName: 'a', heap: false, wall: false }, 'pyroscope: expected at least one of heap and wall on'],
    [{ appName: 'a', basicAuthUser: 'u' }, 'pyroscope.basicAuthPassword: expected basicAuthUser and basicAuthPassword together'],
    [{ appName: 'a', authToken: 't', basicAuthUser: 'u', basicAuthPassword: 'p' }, 'pyroscope.authToken: expected either authToken or basicAuthUser'],
    [{ appName: 'a', stripFilenames: 'some' }, 'pyroscope.stripFilenames'],
    [{ appName: 'a', server: 'x' }, 'Unknown option pyroscope.server'],
    ['http://pyroscope:4040', 'pyroscope: expected a plain object'],
  ])('%j is refused naming the option', (value, message) => {
    expect(invalid(value)).toContain(message)
  })

  it('never echoes a secret', () => {
    for (const key of ['authToken', 'tenantID'] as const) {
      const message = invalid({ appName: 'a', [key]: 'has space s3cret' })
      expect(message).toContain(`pyroscope.${key}`)
      expect(message).not.toContain('s3cret')
    }
  })
})

describe('tags and the ingest request', () => {
  const options = resolvePyroscope({ appName: 'checkout', tags: { region: 'eu' } }, NO_ENV) as Exclude<ReturnType<typeof resolvePyroscope>, false>

  it('tags every profile with the pod: hostname, namespace, pod and service_name; configured tags win', () => {
    const env = { HOSTNAME: 'checkout-7d9f-x2', POD_NAMESPACE: 'shop', POD_NAME: 'checkout-7d9f-x2' }
    expect(effectiveTags(options, env)).toEqual({
      hostname: 'checkout-7d9f-x2',
      namespace: 'shop',
      pod: 'checkout-7d9f-x2',
      service_name: 'checkout',
      region: 'eu',
    })
    expect(effectiveTags({ ...options, tags: { pod: 'mine' } }, env)).toMatchObject({ pod: 'mine' })
    // Outside Kubernetes only what is set; reserved characters are replaced; defaultTags: false adds none.
    expect(effectiveTags(options, { HOSTNAME: 'host{1}=a,b' })).toEqual({ hostname: 'host_1__a_b', service_name: 'checkout', region: 'eu' })
    expect(effectiveTags({ ...options, defaultTags: false }, env)).toEqual({ region: 'eu' })
  })

  it("builds Pyroscope's name, URL and headers", () => {
    const name = applicationName('checkout', { pod: 'p-1', region: 'eu' })
    expect(name).toBe('checkout{pod=p-1,region=eu}')
    const url = ingestUrl('http://pyroscope:4040/prefix', name, { from: new Date(1_700_000_000_900), until: new Date(1_700_000_060_100), sampleRate: 100 })
    expect(url.origin + url.pathname).toBe('http://pyroscope:4040/prefix/ingest')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      format: 'pprof',
      from: '1700000000',
      name,
      spyName: 'nodespy',
      until: '1700000060',
      sampleRate: '100',
    })
    expect(ingestHeaders({ authToken: 'tok', basicAuthUser: null, basicAuthPassword: null, tenantID: null }, 10)).toMatchObject({
      authorization: 'Bearer tok',
      'content-length': '10',
      'content-type': 'application/octet-stream',
    })
    const basic = ingestHeaders({ authToken: null, basicAuthUser: 'u', basicAuthPassword: 'p', tenantID: 't' }, 1)
    expect(basic).toMatchObject({ authorization: `Basic ${Buffer.from('u:p').toString('base64')}`, 'x-scope-orgid': 't' })
    expect(ingestHeaders({ authToken: null, basicAuthUser: null, basicAuthPassword: null, tenantID: null }, 1).authorization).toBeUndefined()
  })
})

describe('the README', () => {
  it('lists every pyroscope option with its numeric and boolean defaults, and no others', () => {
    const lines = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8').split('\n')
    const start = lines.findIndex((l) => l.startsWith('| `pyroscope` option |'))
    const rows: string[][] = []
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      )
    }
    const names = rows.flatMap((r) => [...(r[0] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]))
    expect(names.sort()).toEqual(Object.keys(PYROSCOPE_DEFAULTS).sort())
    for (const r of rows) {
      const value = (PYROSCOPE_DEFAULTS as unknown as Record<string, unknown>)[(r[0] ?? '').replace(/`/g, '')]
      if (typeof value === 'number' || typeof value === 'boolean') expect((r[1] ?? '').replace(/`/g, ''), r[0]).toBe(String(value))
    }
  })
})

/**
 * The pieces the handler decides with: path canonicalisation and territory, Host and address
 * loopback checks, reading the bearer, the constant-time token check, methods and query parsing.
 */
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { TokenCheck, isLoopbackAddress, isLoopbackHost, isLoopbackHostHeader, readBearer } from '../../src/http/auth.js'
import { canonicalize, territoryOf } from '../../src/http/paths.js'
import { QueryError, allowedMethods, flagParam, intParam, queryParam } from '../../src/http/routes.js'

describe('canonicalize / territoryOf', () => {
  it.each([
    ['/debug/memory', '/debug/memory', 'debug'],
    ['/debug/memory/', '/debug/memory', 'debug'],
    ['//debug/memory', '/debug/memory', 'debug'],
    ['/debug/./memory', '/debug/memory', 'debug'],
    ['/DEBUG/Memory', '/debug/memory', 'debug'],
    ['/debug%2fmemory', '/debug/memory', 'debug'],
    ['/debug%2Fmemory', '/debug/memory', 'debug'],
    ['/debug/../debug/memory', '/debug/memory', 'debug'],
    ['/debug\\memory', '/debug/memory', 'debug'],
    ['/%64ebug/memory', '/debug/memory', 'debug'],
    ['/x/../../debug/memory', '/debug/memory', 'debug'],
    ['/debug', '/debug', 'debug'],
    ['/debug/memoryx', '/debug/memoryx', 'debug'],
    ['/debugger', '/debugger', 'other'],
    ['/debug-foo', '/debug-foo', 'other'],
    ['/metrics', '/metrics', 'metrics'],
    ['/METRICS/', '/metrics', 'metrics'],
    ['/metrics/x', '/metrics/x', 'other'],
    ['/metricsx', '/metricsx', 'other'],
    ['/', '/', 'other'],
    ['', '/', 'other'],
    ['*', '/*', 'other'],
    ['/debug/..', '/', 'other'],
    ['/debug/%2e%2e', '/', 'other'],
    ['http://evil.com/debug/memory', '/debug/memory', 'debug'],
    ['HTTP://localhost:9469/metrics', '/metrics', 'metrics'],
    ['http://evil.com', '/', 'other'],
  ])('%j → %j (%s)', (url, canonical, territory) => {
    const path = canonicalize(url)
    expect(path?.canonical).toBe(canonical)
    expect(territoryOf(path!.canonical)).toBe(territory)
  })

  it('decodes once: %2564ebug is not debug', () => {
    expect(canonicalize('/%2564ebug/memory')?.canonical).toBe('/%64ebug/memory')
  })

  it('keeps the raw path and splits the query off', () => {
    expect(canonicalize('/debug/memory/?a=1&b=%zz')).toEqual({ raw: '/debug/memory/', canonical: '/debug/memory', query: 'a=1&b=%zz' })
    expect(canonicalize('/debug/memory?')).toEqual({ raw: '/debug/memory', canonical: '/debug/memory', query: '' })
  })

  it('invalid percent-encoding: null', () => {
    for (const url of ['/debug/%zz', '/debug/%', '/%E2%98', '/debug/%c0%af']) expect(canonicalize(url), url).toBeNull()
  })
})

describe('loopback checks', () => {
  it.each(['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:127.0.0.2'])('%s is a loopback address', (a) => {
    expect(isLoopbackAddress(a)).toBe(true)
  })

  it.each(['0.0.0.0', '::', '192.0.2.2', '128.0.0.1', '::ffff:10.0.0.1', 'localhost', '', '127.0.0.1.nip.io', '127.1'])('%j is not a loopback address', (a) => {
    expect(isLoopbackAddress(a)).toBe(false)
  })

  it('listen hosts', () => {
    expect(isLoopbackHost('localhost')).toBe(true)
    expect(isLoopbackHost('LOCALHOST')).toBe(true)
    expect(isLoopbackHost('127.0.0.1')).toBe(true)
    expect(isLoopbackHost('::1')).toBe(true)
    expect(isLoopbackHost('0.0.0.0')).toBe(false)
    expect(isLoopbackHost('::')).toBe(false)
    expect(isLoopbackHost('my-pod')).toBe(false)
  })

  it.each(['localhost', 'localhost:1', 'localhost.', 'LocalHost:65535', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:9469', ' localhost '])(
    'Host %j passes',
    (h) => {
      expect(isLoopbackHostHeader(h)).toBe(true)
    },
  )

  it.each([
    '',
    'evil.com',
    'localhost.evil.com',
    '127.0.0.1.nip.io',
    '[::1]junk',
    '[::1',
    '::1',
    'localhost:x',
    'localhost:1:2',
    'localhost:123456',
    '[::2]',
    'a.localhost',
  ])('Host %j is refused', (h) => {
    expect(isLoopbackHostHeader(h)).toBe(false)
  })

  it('no Host header at all (HTTP/1.0) passes', () => {
    expect(isLoopbackHostHeader(undefined)).toBe(true)
  })
})

function req(authorization: string[] | undefined): IncomingMessage {
  return { headersDistinct: authorization === undefined ? {} : { authorization } } as unknown as IncomingMessage
}

describe('readBearer', () => {
  it('reads one Bearer header, scheme in any case', () => {
    expect(readBearer(req(['Bearer abc']))).toEqual({ kind: 'bearer', token: 'abc' })
    expect(readBearer(req(['bearer abc']))).toEqual({ kind: 'bearer', token: 'abc' })
    expect(readBearer(req(['Bearer   abc  ']))).toEqual({ kind: 'bearer', token: 'abc' })
  })

  it('none, or malformed', () => {
    expect(readBearer(req(undefined))).toEqual({ kind: 'none' })
    expect(readBearer(req([]))).toEqual({ kind: 'none' })
    for (const v of ['', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b', 'Bearer\tabc', 'Bearerabc'])
      expect(readBearer(req([v])).kind, v).toBe('malformed')
    expect(readBearer(req(['Bearer a', 'Bearer a']))).toEqual({ kind: 'malformed', reason: 'more than one Authorization header' })
  })
})

describe('TokenCheck', () => {
  it('matches only the exact token, whatever the candidate length', () => {
    const check = new TokenCheck('s3cret')
    expect(check.matches('s3cret')).toBe(true)
    for (const c of ['', 's3cre', 's3crett', 'S3CRET', 'x'.repeat(100_000), 's3cret\0', 'é']) expect(check.matches(c), c.slice(0, 10)).toBe(false)
  })

  it('keeps no copy of the token on the instance', () => {
    const check = new TokenCheck('visible-token-value')
    expect(JSON.stringify(check)).not.toContain('visible-token-value')
    expect(Object.values(check).join()).not.toContain('visible-token-value')
  })
})

describe('methods and query parameters', () => {
  it('GET implies HEAD in Allow', () => {
    const r = (methods: ('GET' | 'POST')[]) => ({ path: '/x', methods, kind: 'debug' as const, handle() {} })
    expect(allowedMethods(r(['GET']))).toEqual(['GET', 'HEAD'])
    expect(allowedMethods(r(['GET', 'POST']))).toEqual(['GET', 'HEAD', 'POST'])
    expect(allowedMethods(r(['POST']))).toEqual(['POST'])
  })

  it('intParam: default, bounds, form; the error names the parameter', () => {
    const q = (s: string) => new URLSearchParams(s)
    expect(intParam(q(''), 'limit', 20, 1, 100)).toBe(20)
    expect(intParam(q('limit=1'), 'limit', 20, 1, 100)).toBe(1)
    expect(intParam(q('limit=100'), 'limit', 20, 1, 100)).toBe(100)
    for (const v of ['0', '101', 'x', '', '-1', '1.0', '1e2', ' 1', '0x1', '9999999999']) {
      let error: unknown
      try {
        intParam(q(`limit=${encodeURIComponent(v)}`), 'limit', 20, 1, 100)
      } catch (err) {
        error = err
      }
      expect(error, v).toBeInstanceOf(QueryError)
      expect(error).toMatchObject({ code: 'OOMKIT_BAD_REQUEST', parameter: 'limit', status: 400 })
      expect((error as Error).message).toContain('limit=')
      expect((error as Error).message).toContain('an integer from 1 to 100')
    }
  })

  it('a parameter sent twice is an error; flags take 1/true/0/false only', () => {
    expect(() => queryParam(new URLSearchParams('a=1&a=1'), 'a')).toThrow(QueryError)
    expect(flagParam(new URLSearchParams('force=1'), 'force')).toBe(true)
    expect(flagParam(new URLSearchParams('force=false'), 'force')).toBe(false)
    expect(flagParam(new URLSearchParams(''), 'force')).toBe(false)
    expect(() => flagParam(new URLSearchParams('force=yes'), 'force')).toThrow(/force=/)
  })

  it('a long bad value is quoted shortened', () => {
    expect(() => intParam(new URLSearchParams(`n=${'9'.repeat(500)}`), 'n', 1, 1, 2)).toThrow(/n="9{60}"/)
  })
})

/**
 * The same request matrix against every way oomkit's routes are served: the standalone server
 * (kit.listen) and the Express adapter on Express 4 and 5, at the root and under a prefix. Auth,
 * path spellings, methods, queries, headers and audit lines must not depend on which it is.
 */
import { type Server, createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import supertest from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { oomkitExpress } from '../../middleware/express.js'
import { DEBUG_HEADERS, type TestKit, rawRequest, rawSend, send, testKit, until } from '../helpers/http.js'

// express4 is `npm:express@4` and ships no types: loaded as CommonJS, typed as Express.
const express4 = createRequire(import.meta.url)('express4') as typeof express5

const TOKEN = 'mAtrix-T0ken_4f9c2e'
const AUTH = { authorization: `Bearer ${TOKEN}` }

interface Target {
  readonly name: string
  /** Path prefix oomkit's routes are mounted under ('' at the root). */
  readonly base: string
  readonly express: boolean
  start(t: TestKit): Promise<{ port: number; close(): Promise<void> }>
}

function expressTarget(name: string, make: () => ReturnType<typeof express5>, base: string): Target {
  return {
    name,
    base,
    express: true,
    async start(t) {
      const app = make()
      if (base === '') app.use(oomkitExpress(t.kit, { token: TOKEN }))
      else app.use(base, oomkitExpress(t.kit, { token: TOKEN }))
      app.get('/hello', (_req, res) => {
        res.send('app hello')
      })
      const server: Server = createServer(app)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return {
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve())
            server.closeAllConnections()
          }),
      }
    },
  }
}

const targets: Target[] = [
  {
    name: 'standalone server',
    base: '',
    express: false,
    async start(t) {
      const server = await t.kit.listen({ port: 0, token: TOKEN })
      return { port: server.address.port, close: () => t.kit.stop() }
    },
  },
  expressTarget('Express 4', () => express4(), ''),
  expressTarget('Express 5', () => express5(), ''),
  expressTarget('Express 4 under /ops', () => express4(), '/ops'),
  expressTarget('Express 5 under /ops', () => express5(), '/ops'),
]

/**
 * Spellings of /debug/memory that must get the same auth decision as the real one and never be
 * served: 401 without the token, 404 with it. `raw` ones go over a socket as written.
 */
const VARIANTS: readonly { path: string; raw?: true }[] = [
  { path: '/debug/memory/' },
  { path: '//debug/memory' },
  { path: '/debug/./memory' },
  { path: '/DEBUG/memory' },
  { path: '/debug%2fmemory' },
  { path: '/debug%2Fmemory' },
  { path: '/debug/memoryx' },
  { path: '/debug/../debug/memory' },
  { path: '/debug\\memory', raw: true },
  { path: '/%64ebug/memory' },
  { path: '/debug//memory' },
  { path: '/debug/memory/.' },
  { path: '/Debug/Memory' },
  { path: '/debug/%6demory' },
  { path: '/debug/memory%2f' },
  { path: '/debug/x/../memory' },
  { path: '/debug/%2e%2e/debug/memory' },
  { path: '/debug/%2E/memory' },
  { path: '/debug/memory;x' },
  { path: '/debug/memory%00' },
  { path: '/debug/memory\\', raw: true },
  { path: '/debug' },
  { path: '/debug/' },
]

describe.each(targets)('$name', (target) => {
  const t = testKit()
  let port = 0
  let close: () => Promise<void> = async () => {}
  const at = (path: string): string => `${target.base}${path}`
  const http = (): ReturnType<typeof supertest> => supertest(`http://127.0.0.1:${port}`)

  beforeAll(async () => {
    ;({ port, close } = await target.start(t))
  })
  afterAll(async () => {
    await close()
    if (target.express) await t.kit.stop()
    // The token never reaches a log line, whatever the request did with it.
    const leaks = t.text.filter((line) => line.includes(TOKEN))
    expect(leaks).toEqual([])
  })

  describe('routes', () => {
    it('GET /debug/memory answers the report as JSON with the debug headers', async () => {
      const r = await http().get(at('/debug/memory')).set(AUTH).expect(200)
      expect(r.headers['content-type']).toMatch(/^application\/json/)
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      const body = r.body as Record<string, unknown>
      for (const section of ['process', 'v8', 'container', 'budget', 'trend', 'history']) expect(body).toHaveProperty(section)
      expect(Number.isInteger((body.process as { rss: unknown }).rss)).toBe(true)
    })

    it('GET /metrics answers the Prometheus text format, open without a metrics token', async () => {
      const r = await http().get(at('/metrics')).expect(200)
      expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
      expect(r.headers['cache-control']).toBe('no-store')
      expect(r.text).toMatch(/^# HELP oomkit_/m)
      expect(r.text).toMatch(/^oomkit_v8_heap_limit_bytes \d+/m)
    })

    it('GET /metrics answers OpenMetrics when Accept asks for it', async () => {
      const r = await http()
        .get(at('/metrics'))
        .set('Accept', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')
        .expect(200)
      expect(r.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/)
      expect(r.text.trimEnd().endsWith('# EOF')).toBe(true)
      // The next plain scrape is still the text format: nothing was changed on the app's registry.
      const plain = await http().get(at('/metrics')).expect(200)
      expect(plain.headers['content-type']).toMatch(/^text\/plain/)
      expect(plain.text).not.toContain('# EOF')
    })

    it.each(['/debug/memory', '/metrics', '/debug/test-echo'])('HEAD %s: the status and headers of GET, no body', async (path) => {
      const get = await send(port, { path: at(path), headers: AUTH })
      const head = await send(port, { path: at(path), method: 'HEAD', headers: AUTH })
      expect(get.status).toBe(200)
      expect(head.status).toBe(200)
      expect(head.body).toBe('')
      for (const h of ['content-type', 'cache-control', 'x-content-type-options']) expect(head.headers[h], h).toBe(get.headers[h])
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0)
    })

    it('HEAD on a denied request: 401 with the same headers, no body', async () => {
      const r = await send(port, { path: at('/debug/memory'), method: 'HEAD' })
      expect(r.status).toBe(401)
      expect(r.body).toBe('')
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
    })

    if (target.express)
      it("paths that are not oomkit's reach the app (next())", async () => {
        await http().get('/hello').expect(200, 'app hello')
        const r = await http().get(at('/debugger')).set(AUTH)
        expect(r.status).toBe(404)
        expect(r.text).not.toContain('OOMKIT')
      })
  })

  describe('path spellings get the auth decision of /debug/memory, and only the exact one is served', () => {
    const ask = (path: string, raw: boolean | undefined, auth: string | undefined): Promise<{ status: number | null; headers: Record<string, unknown> }> =>
      raw === true
        ? rawRequest(port, 'GET', at(path), auth === undefined ? '' : `Authorization: ${auth}\r\n`)
        : send(port, { path: at(path), headers: auth === undefined ? {} : { authorization: auth } })

    it.each(VARIANTS)('$path: 401 without a token, 401 with a wrong one, 404 with the right one', async ({ path, raw }) => {
      const none = await ask(path, raw, undefined)
      expect(none.status, 'no token').toBe(401)
      expect(none.headers).toMatchObject(DEBUG_HEADERS)
      expect((await ask(path, raw, 'Bearer wrong-token')).status, 'wrong token').toBe(401)
      const right = await ask(path, raw, `Bearer ${TOKEN}`)
      expect(right.status, 'right token').toBe(404)
      expect(right.headers).toMatchObject(DEBUG_HEADERS)
    })

    it('the exact /debug/memory: 401 without a token, 200 with it (raw request line too)', async () => {
      expect((await send(port, { path: at('/debug/memory') })).status).toBe(401)
      expect((await send(port, { path: at('/debug/memory'), headers: AUTH })).status).toBe(200)
      expect((await rawRequest(port, 'GET', at('/debug/memory'), `Authorization: Bearer ${TOKEN}\r\n`)).status).toBe(200)
    })

    it('the query is not part of the path: /debug/memory?x=1 is served, /debug/memory/?x=1 is not', async () => {
      expect((await send(port, { path: at('/debug/memory?x=1'), headers: AUTH })).status).toBe(200)
      expect((await send(port, { path: at('/debug/memory/?x=1'), headers: AUTH })).status).toBe(404)
      expect((await send(port, { path: at('/debug/memory/?x=1') })).status).toBe(401)
    })

    // Under a mount path, Express itself decides whether an absolute-form target matches it.
    if (target.base === '')
      it('absolute-form request targets get the same auth decision and are not served', async () => {
        for (const host of ['localhost', 'evil.com']) {
          const path = `http://${host}/debug/memory`
          expect((await rawRequest(port, 'GET', path)).status, `${path} without token`).toBe(401)
          expect((await rawRequest(port, 'GET', path, `Authorization: Bearer ${TOKEN}\r\n`)).status, `${path} with token`).toBe(404)
        }
      })
  })

  describe('methods', () => {
    const WRONG = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL']

    it.each([
      ['/debug/memory', 'GET, HEAD', [...WRONG, 'POST']],
      ['/metrics', 'GET, HEAD', [...WRONG, 'POST']],
      ['/debug/test-echo', 'GET, HEAD, POST', WRONG],
    ] as const)('%s: every other method gets 405 with Allow: %s', async (path, allow, methods) => {
      for (const method of methods) {
        const r = await send(port, { path: at(path), method, headers: AUTH })
        expect(r.status, method).toBe(405)
        expect(r.headers.allow, method).toBe(allow)
        if (method !== 'HEAD') expect(r.json, method).toMatchObject({ error: 'OOMKIT_METHOD_NOT_ALLOWED' })
        if (path !== '/metrics') expect(r.headers, method).toMatchObject(DEBUG_HEADERS)
      }
    })

    it('a wrong method without the token is 401 first: nothing about the route leaks before auth', async () => {
      const r = await send(port, { path: at('/debug/memory'), method: 'DELETE' })
      expect(r.status).toBe(401)
      expect(r.headers.allow).toBeUndefined()
    })

    it('POST where the route takes it answers; its body is not needed', async () => {
      const r = await send(port, { path: at('/debug/test-echo?n=3'), method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'ignored' })
      expect(r.status).toBe(200)
      expect(r.json).toEqual({ method: 'POST', n: 3 })
    })

    it("a made-up method (FOO) is refused by node's parser with a 400, never a 5xx", async () => {
      const r = await rawRequest(port, 'FOO', at('/debug/memory'), `Authorization: Bearer ${TOKEN}\r\n`)
      expect(r.status).toBe(400)
    })

    it("lowercase method names are refused by node's parser (400)", async () => {
      const r = await rawRequest(port, 'get', at('/debug/memory'), `Authorization: Bearer ${TOKEN}\r\n`)
      expect(r.status).toBe(400)
    })
  })

  describe('tokens', () => {
    const denied = async (headers: Record<string, string | string[]>, path = '/debug/memory'): Promise<void> => {
      const r = await send(port, { path: at(path), headers })
      expect(r.status).toBe(401)
      expect(r.json).toMatchObject({ error: 'OOMKIT_UNAUTHORIZED' })
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      expect(r.body).not.toContain(TOKEN)
    }

    it('missing, wrong, empty or truncated: 401', async () => {
      await denied({})
      await denied({ authorization: 'Bearer wrong' })
      await denied({ authorization: 'Bearer ' })
      await denied({ authorization: 'Bearer' })
      await denied({ authorization: '' })
      await denied({ authorization: `Bearer ${TOKEN.slice(0, -1)}` })
      await denied({ authorization: `Bearer ${TOKEN}x` })
      await denied({ authorization: `Bearer ${TOKEN} extra` })
      await denied({ authorization: TOKEN })
      await denied({ authorization: `Token ${TOKEN}` })
    })

    it('Basic, a cookie, or the token in the query string (?token=, ?access_token=): ignored, 401', async () => {
      await denied({ authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` })
      await denied({ cookie: `token=${TOKEN}` })
      await denied({}, `/debug/memory?token=${TOKEN}`)
      await denied({}, `/debug/memory?access_token=${TOKEN}`)
      await denied({ authorization: 'Bearer wrong' }, `/debug/memory?access_token=${TOKEN}`)
    })

    it('sent twice: 401, even when both are right', async () => {
      await denied({ authorization: [`Bearer ${TOKEN}`, 'Bearer wrong'] })
      await denied({ authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] })
      const raw = await rawRequest(port, 'GET', at('/debug/memory'), `Authorization: Bearer ${TOKEN}\r\nAuthorization: Bearer ${TOKEN}\r\n`)
      expect(raw.status).toBe(401)
    })

    it('the scheme is case-insensitive (RFC 9110 §11.1): "bearer <token>" is accepted, a wrong one is not', async () => {
      expect((await send(port, { path: at('/debug/memory'), headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200)
      expect((await send(port, { path: at('/debug/memory'), headers: { authorization: `BEARER ${TOKEN}` } })).status).toBe(200)
      await denied({ authorization: 'bearer wrong' })
    })

    it('a tab instead of a space, or a comma list: 401', async () => {
      await denied({ authorization: `Bearer\t${TOKEN}` })
      await denied({ authorization: `Bearer ${TOKEN}, Bearer ${TOKEN}` })
    })

    it('non-ASCII bytes (UTF-8, Latin-1) in the header: 401, never a crash', async () => {
      for (const bytes of [Buffer.from(`${TOKEN}é☃`, 'utf8'), Buffer.from([0xff, 0xfe, 0x80, 0x41]), Buffer.from('日本語トークン', 'utf8')]) {
        const data = Buffer.concat([
          Buffer.from(`GET ${at('/debug/memory')} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer `),
          bytes,
          Buffer.from('\r\n\r\n'),
        ])
        const r = await rawSend(port, data)
        expect(r.status).toBe(401)
      }
    })

    it('a 64 KiB token: 431 from the parser (or 401), never a 5xx; the server answers on', async () => {
      const r = await send(port, { path: at('/debug/memory'), headers: { authorization: `Bearer ${'a'.repeat(64 * 1024)}` } })
      expect([431, 401, null]).toContain(r.status)
      const raw = await rawRequest(port, 'GET', at('/debug/memory'), `Authorization: Bearer ${'b'.repeat(64 * 1024)}\r\n`)
      expect(raw.status).toBe(431)
      // A long but acceptable one is just wrong.
      await denied({ authorization: `Bearer ${'c'.repeat(8 * 1024)}` })
      expect((await send(port, { path: at('/debug/memory'), headers: AUTH })).status).toBe(200)
    })
  })

  describe('query values', () => {
    it.each(['abc', '0', '101', '-1', '1e2', '1.5', '', ' 5', '99999999999999999999', '%zz', '0x10'])('n=%j: 400 naming the parameter', async (n) => {
      const r = await send(port, { path: at(`/debug/test-echo?n=${n.replace(/ /g, '%20')}`), headers: AUTH })
      expect(r.status).toBe(400)
      expect(r.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'n' })
      expect(String(r.json?.message)).toMatch(/\bn=/)
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
    })

    it('a parameter sent twice is a 400, never a silent pick', async () => {
      const r = await send(port, { path: at('/debug/test-echo?n=1&n=2'), headers: AUTH })
      expect(r.status).toBe(400)
      expect(r.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'n' })
    })

    it('a good value and unknown parameters answer 200; HEAD with a bad value is a 400 without body', async () => {
      expect((await send(port, { path: at('/debug/test-echo?n=42&other=%zz'), headers: AUTH })).json).toEqual({ method: 'GET', n: 42 })
      const head = await send(port, { path: at('/debug/test-echo?n=x'), method: 'HEAD', headers: AUTH })
      expect(head.status).toBe(400)
      expect(head.body).toBe('')
    })

    it('a bad query without the token is a 401: auth comes first', async () => {
      expect((await send(port, { path: at('/debug/test-echo?n=abc') })).status).toBe(401)
    })
  })

  describe('audit', () => {
    it('one line per debug request with route, method, outcome, status, remote address, duration', async () => {
      const before = t.audits().length
      const requests: [string, string, Record<string, string>, number, string][] = [
        ['GET', '/debug/memory', AUTH, 200, 'ok'],
        ['GET', '/debug/memory', {}, 401, 'denied'],
        ['GET', '/debug/memory', { authorization: 'Bearer nope' }, 401, 'denied'],
        ['GET', '/debug/memory/', AUTH, 404, 'not-found'],
        ['PUT', '/debug/memory', AUTH, 405, 'method-not-allowed'],
        ['GET', '/debug/test-echo?n=zzz', AUTH, 400, 'bad-request'],
        ['HEAD', '/debug/memory', AUTH, 200, 'ok'],
        ['GET', `/debug/memory?token=${TOKEN}`, {}, 401, 'denied'],
      ]
      for (const [method, path, headers, status] of requests) expect((await send(port, { method, path: at(path), headers })).status).toBe(status)
      // /metrics is not a debug route: no audit line.
      await send(port, { path: at('/metrics') })
      await until(() => t.audits().length >= before + requests.length, 'audit lines')
      await new Promise((resolve) => setTimeout(resolve, 50))
      const lines = t.audits().slice(before)
      expect(lines).toHaveLength(requests.length)
      lines.forEach((line, i) => {
        const [method, path, , status, outcome] = requests[i]!
        expect(line).toMatchObject({ method, status, outcome, remoteAddress: expect.stringMatching(/127\.0\.0\.1$/) as unknown })
        expect(line.route).toBe(path.startsWith('/debug/test-echo') ? '/debug/test-echo' : '/debug/memory')
        expect(typeof line.durationMs).toBe('number')
        expect(line.durationMs).toBeGreaterThanOrEqual(0)
        expect(line.level).toBe(status === 401 || status === 403 ? 40 : 30)
      })
    })
  })
})

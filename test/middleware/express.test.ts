/**
 * The Express adapter (Express 4 and 5): what is oomkit's and what is the app's, the no-token rule
 * on the app's port, allowUnauthenticated, metricsToken, `metrics: false`, mounting under a prefix.
 * The full auth/path/method matrix runs in test/http/matrix.test.ts against Express too.
 */
import { type Server, createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import supertest from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { type OomkitExpressOptions, oomkitExpress } from '../../middleware/express.js'
import { OomkitError } from '../../src/index.js'
import { DEBUG_HEADERS, type TestKit, rawRequest, send, testKit, until } from '../helpers/http.js'

// express4 is `npm:express@4` and ships no types: loaded as CommonJS, typed as Express.
const express4 = createRequire(import.meta.url)('express4') as typeof express5

type App = ReturnType<typeof express5>

interface Running {
  readonly t: TestKit
  readonly app: App
  readonly port: number
  readonly http: ReturnType<typeof supertest>
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

/**
 * An app with oomkit mounted (at `mount`, or the root) and its own routes: `GET /debug/memory`
 * (to show what is not oomkit's under a prefix), `/hello`, and a catch-all echoing `app:<url>`.
 */
async function run(make: () => App, options: OomkitExpressOptions, mount = ''): Promise<Running> {
  const t = testKit()
  const app = make()
  if (mount === '') app.use(oomkitExpress(t.kit, options))
  else app.use(mount, oomkitExpress(t.kit, options))
  app.get('/debug/memory', (_req, res) => {
    res.send('app debug memory')
  })
  app.get('/hello', (_req, res) => {
    res.send('app hello')
  })
  app.post('/metrics', (_req, res) => {
    res.send('app metrics post')
  })
  app.use((req, res) => {
    res.status(299).send(`app:${req.url}`)
  })
  const server: Server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await t.kit.stop()
  })
  const port = (server.address() as AddressInfo).port
  return { t, app, port, http: supertest(server) }
}

describe.each([
  ['Express 4', (): App => express4()],
  ['Express 5', (): App => express5()],
] as const)('%s', (_name, make) => {
  describe("routing: what is not oomkit's reaches the app", () => {
    it("mounted at the root: /debug/memory and /metrics are oomkit's; /debugger, /debug-foo, /metricsx, /hello are the app's", async () => {
      const { http } = await run(make, { token: 'tok' })
      const r = await http.get('/debug/memory').set('Authorization', 'Bearer tok').expect(200)
      expect(r.body).toHaveProperty('process')
      await http
        .get('/metrics')
        .expect(200)
        .expect('content-type', /^text\/plain/)
      await http.get('/hello').expect(200, 'app hello')
      for (const path of ['/debugger', '/debug-foo', '/debugx/memory', '/metricsx', '/metrics-foo', '/', '/x/debug/memory', '/debug.memory']) {
        const res = await http.get(path)
        expect(res.status, path).toBe(299)
        expect(res.text, path).toBe(`app:${path}`)
      }
    })

    it("a path with invalid percent-encoding outside /debug/ is not oomkit's: the app gets it (under /debug/: test/http/encoding.test.ts)", async () => {
      const { port } = await run(make, { token: 'tok' })
      const r = await send(port, { path: '/x/%zz' })
      // Express answers it (its own 400 for a bad URI, or the app's catch-all); oomkit does not.
      expect(r.json?.error).toBeUndefined()
      expect(r.status).not.toBe(200)
    })

    it("under /ops: /ops/debug/memory and /ops/metrics are oomkit's, /debug/memory and /metrics are the app's", async () => {
      const { http, port } = await run(make, { token: 'tok' }, '/ops')
      const r = await http.get('/ops/debug/memory').set('Authorization', 'Bearer tok').expect(200)
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      expect(r.body).toHaveProperty('container')
      await http.get('/ops/debug/memory').expect(401)
      await http.get('/debug/memory').expect(200, 'app debug memory')
      await http
        .get('/ops/metrics')
        .expect(200)
        .expect('content-type', /^text\/plain/)
      const appMetrics = await http.get('/metrics')
      expect(appMetrics.text).toBe('app:/metrics')
      await http.get('/ops/hello').expect(299, 'app:/ops/hello')
      await http.get('/opsx/debug/memory').expect(299)
      // Express 4 strips `/ops/` from `/ops//debug/memory`: the adapter still sees the variant.
      expect((await send(port, { path: '/ops//debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(404)
      expect((await send(port, { path: '/ops//debug/memory' })).status).toBe(401)
      expect((await send(port, { path: '/ops//debug/memory?x=1', headers: { authorization: 'Bearer tok' } })).status).toBe(404)
      // The mount path itself is matched by Express (case-insensitively by default).
      expect((await send(port, { path: '/OPS/debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(200)
    })

    it('under a nested router (/api/ops)', async () => {
      const t = testKit()
      const app = make()
      const router = (make === express5 ? express5.Router() : express4.Router()) as unknown as App
      router.use('/ops', oomkitExpress(t.kit, { token: 'tok' }))
      app.use('/api', router)
      const server = createServer(app)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      cleanups.push(async () => {
        server.close()
        server.closeAllConnections()
        await t.kit.stop()
      })
      const port = (server.address() as AddressInfo).port
      expect((await send(port, { path: '/api/ops/debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(200)
      expect((await send(port, { path: '/api/ops/debug/memory' })).status).toBe(401)
      expect((await send(port, { path: '/api/ops//debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(404)
    })

    it("the app's req.url is untouched after oomkit passes a request on", async () => {
      const t = testKit()
      const app = make()
      app.use('/ops', oomkitExpress(t.kit, { token: 'tok' }))
      app.use((req, res) => {
        res.send(`${(req as unknown as { originalUrl: string }).originalUrl} ${req.url}`)
      })
      cleanups.push(() => t.kit.stop())
      const r = await supertest(app).get('/ops/other?x=1')
      expect(r.text).toBe('/ops/other?x=1 /ops/other?x=1')
    })
  })

  describe('no token on the app port', () => {
    it('debug routes: 403 OOMKIT_TOKEN_REQUIRED, even from loopback with a loopback Host, with a message saying how to set one', async () => {
      const { http, port } = await run(make, {})
      const r = await http.get('/debug/memory').set('Host', `localhost:${port}`).expect(403)
      expect(r.body).toMatchObject({ error: 'OOMKIT_TOKEN_REQUIRED' })
      expect(r.body.message).toContain('oomkitExpress(kit, { token })')
      expect(r.body.message).toContain('OOMKIT_TOKEN=')
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      for (const path of ['/debug/memory/', '/DEBUG/memory', '/debug/other', '/debug/test-echo?n=zz']) expect((await http.get(path)).status, path).toBe(403)
      expect((await http.delete('/debug/memory')).status).toBe(403)
    })

    it("/metrics is open, the app's routes work", async () => {
      const { http } = await run(make, {})
      await http.get('/metrics').expect(200)
      await http.get('/hello').expect(200, 'app hello')
    })

    it('allowUnauthenticated: true serves debug routes without auth and warns once per instance, even with two handlers', async () => {
      const { http, t } = await run(make, { allowUnauthenticated: true })
      t.kit.handler({ allowUnauthenticated: true })
      oomkitExpress(t.kit, { allowUnauthenticated: true })
      await http.get('/debug/memory').expect(200)
      await http.get('/debug/memory').set('Host', 'evil.com').expect(200)
      const warnings = t.lines.filter((l) => l.code === 'OOMKIT_UNAUTHENTICATED_DEBUG')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ level: 40 })
      expect(warnings[0]?.msg).toMatch(/WITHOUT authentication/)
      // Still only the exact spelling is served; methods and queries are still checked; audit lines still written.
      await http.get('/debug/memory/').expect(404)
      await http.put('/debug/memory').expect(405)
      await http.get('/debug/test-echo?n=0').expect(400)
      await until(() => t.audits().length >= 5, 'audit lines')
    })

    it('allowUnauthenticated with a token: the token is required, no warning', async () => {
      const { http, t } = await run(make, { allowUnauthenticated: true, token: 'tok' })
      await http.get('/debug/memory').expect(401)
      await http.get('/debug/memory').set('Authorization', 'Bearer tok').expect(200)
      expect(t.lines.filter((l) => l.code === 'OOMKIT_UNAUTHENTICATED_DEBUG')).toHaveLength(0)
    })

    it('allowUnauthenticated: false is the default (403)', async () => {
      const { http, t } = await run(make, { allowUnauthenticated: false })
      await http.get('/debug/memory').expect(403)
      expect(t.lines.filter((l) => l.code === 'OOMKIT_UNAUTHENTICATED_DEBUG')).toHaveLength(0)
    })
  })

  describe('metrics', () => {
    it('metricsToken: /metrics is 401 without or with a wrong bearer, 200 with it', async () => {
      const { http } = await run(make, { token: 'dbg', metricsToken: 'met' })
      await http.get('/metrics').expect(401)
      await http.get('/metrics').set('Authorization', 'Bearer wrong').expect(401)
      await http.get('/metrics').set('Authorization', 'Bearer dbg').expect(401)
      await http.get('/metrics').set('Authorization', 'Bearer met').expect(200)
    })

    it('metrics: false leaves /metrics to the app', async () => {
      const { http } = await run(make, { token: 'tok', metrics: false })
      expect((await http.get('/metrics')).text).toBe('app:/metrics')
      await http.get('/debug/memory').set('Authorization', 'Bearer tok').expect(200)
    })

    it("a POST /metrics the app serves still gets oomkit's 405 when oomkit serves /metrics (mounted first)", async () => {
      const { http } = await run(make, { token: 'tok' })
      const r = await http.post('/metrics')
      expect(r.status).toBe(405)
      expect(r.headers.allow).toBe('GET, HEAD')
    })
  })

  describe('raw request lines', () => {
    it('/debug\\memory: 401 without a token, 404 with it', async () => {
      const { port } = await run(make, { token: 'tok' })
      expect((await rawRequest(port, 'GET', '/debug\\memory')).status).toBe(401)
      expect((await rawRequest(port, 'GET', '/debug\\memory', 'Authorization: Bearer tok\r\n')).status).toBe(404)
    })
  })
})

describe('adapter options', () => {
  it.each([
    [{ tokn: 'x' }, 'tokn'],
    [{ token: 'has space' }, 'token'],
    [{ token: '' }, 'token'],
    [{ token: 'tök' }, 'token'],
    [{ token: 42 }, 'token'],
    [{ metricsToken: 'a b' }, 'metricsToken'],
    [{ metrics: 'yes' }, 'metrics'],
    [{ allowUnauthenticated: 1 }, 'allowUnauthenticated'],
  ])('%j throws OOMKIT_INVALID_OPTION naming %s, never echoing a token', (options, name) => {
    const t = testKit(false)
    let error: unknown
    try {
      oomkitExpress(t.kit, options as OomkitExpressOptions)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(OomkitError)
    expect(error).toMatchObject({ code: 'OOMKIT_INVALID_OPTION' })
    const message = (error as Error).message
    expect(message).toContain(name)
    if (typeof (options as { token?: unknown }).token === 'string' && (options as { token: string }).token !== '')
      expect(message).not.toContain((options as { token: string }).token)
    if (typeof (options as { metricsToken?: unknown }).metricsToken === 'string')
      expect(message).not.toContain((options as { metricsToken: string }).metricsToken)
  })

  it("kit.handler() without next answers 404 for paths that are not oomkit's", async () => {
    const t = testKit(false)
    const handle = t.kit.handler({ token: 'tok' })
    const server = createServer((req, res) => handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      server.close()
      await t.kit.stop()
    })
    const port = (server.address() as AddressInfo).port
    const other = await send(port, { path: '/hello' })
    expect(other.status).toBe(404)
    expect(other.json).toMatchObject({ error: 'OOMKIT_NOT_FOUND' })
    expect((await send(port, { path: '/%zz' })).status).toBe(400)
    expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(200)
  })
})

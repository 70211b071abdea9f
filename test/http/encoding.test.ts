/**
 * Paths with invalid percent-encoding. Under `/debug/` they are oomkit's like every other spelling
 * there: the debug headers, the same auth decision (401/403 when it fails), then 400
 * `OOMKIT_BAD_REQUEST`, and one audit line. Anywhere else they stay what they were: the app's
 * (Express calls next), or a plain 400 from a handler that has no `next`.
 */
import { type Server, createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { oomkitExpress } from '../../middleware/express.js'
import { undecodableTerritory } from '../../src/http/paths.js'
import { DEBUG_HEADERS, type TestKit, send, testKit, until } from '../helpers/http.js'

// express4 is `npm:express@4` and ships no types: loaded as CommonJS, typed as Express.
const express4 = createRequire(import.meta.url)('express4') as typeof express5

const TOKEN = 'enc0ding-T0ken'
const AUTH = { authorization: `Bearer ${TOKEN}` }

/** Under /debug/, and none of them decodes. */
const DEBUG_PATHS = ['/debug/memory%', '/debug/%zz', '/debug/heap%2', '/DEBUG/memory%', '/%64ebug/memory%', '/debug%2f%zz', '/debug/%c0%af', '/debug/%E2%98']
/** Not under /debug/ (or /metrics), and none of them decodes. */
const OTHER_PATHS = ['/%zz', '/x/debug/%zz', '/debugger%zz', '/debug%zz', '/metrics%', '/metrics/%zz', '/%E2%98/debug']

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function listenOn(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  return (server.address() as AddressInfo).port
}

/** oomkit on `target`, with a token; Express apps answer everything else with 299 `app:<url>`. */
async function start(target: string): Promise<{ t: TestKit; port: number }> {
  const t = testKit()
  cleanups.push(() => t.kit.stop())
  if (target === 'standalone') return { t, port: (await t.kit.listen({ port: 0, token: TOKEN })).address.port }
  if (target === 'kit.handler() without next') {
    const handle = t.kit.handler({ token: TOKEN })
    return { t, port: await listenOn(createServer((req, res) => handle(req, res))) }
  }
  const app = target === 'Express 5' ? express5() : express4()
  app.use(oomkitExpress(t.kit, { token: TOKEN }))
  app.use((req, res) => {
    res.status(299).send(`app:${req.url}`)
  })
  return { t, port: await listenOn(createServer(app)) }
}

describe('undecodableTerritory', () => {
  it.each(DEBUG_PATHS)('%s is debug', (path) => {
    expect(undecodableTerritory(path)).toBe('debug')
  })

  it.each(OTHER_PATHS)('%s is not', (path) => {
    expect(undecodableTerritory(path)).toBe('other')
  })

  it('decides on the path, not the query; an absolute-form target by its path', () => {
    expect(undecodableTerritory('/x%zz?to=/debug/')).toBe('other')
    expect(undecodableTerritory('http://localhost/debug/%zz')).toBe('debug')
  })
})

describe.each(['standalone', 'kit.handler() without next', 'Express 5', 'Express 4'])('%s', (target) => {
  it.each(DEBUG_PATHS)('%s: 401 without the token, 400 with it; debug headers and one audit line each', async (path) => {
    const { t, port } = await start(target)
    const denied = await send(port, { path })
    expect(denied.status).toBe(401)
    expect(denied.json).toMatchObject({ error: 'OOMKIT_UNAUTHORIZED' })
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="oomkit"')
    expect(denied.headers).toMatchObject(DEBUG_HEADERS)
    await until(() => t.audits().length === 1, 'the first audit line')

    const bad = await send(port, { path, headers: AUTH })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', message: 'The request path has invalid percent-encoding' })
    expect(bad.headers).toMatchObject(DEBUG_HEADERS)
    const head = await send(port, { path, method: 'HEAD', headers: AUTH })
    expect(head.status).toBe(400)
    expect(head.body).toBe('')
    await until(() => t.audits().length === 3, 'three audit lines')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(t.audits().map((l) => [l.method, l.status, l.outcome, l.remoteAddress])).toEqual([
      ['GET', 401, 'denied', '127.0.0.1'],
      ['GET', 400, 'bad-request', '127.0.0.1'],
      ['HEAD', 400, 'bad-request', '127.0.0.1'],
    ])
    expect(t.text.some((l) => l.includes(TOKEN))).toBe(false)
  })

  it.each(OTHER_PATHS)("%s: not oomkit's, as before", async (path) => {
    const { t, port } = await start(target)
    const r = await send(port, { path, headers: AUTH })
    if (target.startsWith('Express')) {
      // The app's: its catch-all, or Express's own answer to a URI it cannot decode.
      expect(r.json?.error).toBeUndefined()
      expect(r.status).not.toBe(200)
    } else {
      expect(r.status).toBe(400)
      expect(r.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST' })
      expect(r.headers['cache-control']).toBeUndefined()
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(t.audits()).toEqual([])
  })
})

describe('standalone without a token (loopback rules)', () => {
  it('/debug/memory%: 403 for a foreign Host, 400 for localhost', async () => {
    const t = testKit()
    cleanups.push(() => t.kit.stop())
    const port = (await t.kit.listen({ port: 0 })).address.port
    const foreign = await send(port, { path: '/debug/memory%', headers: { host: 'evil.example' } })
    expect(foreign.status).toBe(403)
    expect(foreign.json).toMatchObject({ error: 'OOMKIT_FORBIDDEN_HOST' })
    expect(foreign.headers).toMatchObject(DEBUG_HEADERS)
    const local = await send(port, { path: '/debug/memory%', headers: { host: `localhost:${port}` } })
    expect(local.status).toBe(400)
    expect(local.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST' })
    await until(() => t.audits().length === 2, 'two audit lines')
    expect(t.audits().map((l) => [l.status, l.outcome])).toEqual([
      [403, 'denied'],
      [400, 'bad-request'],
    ])
  })
})

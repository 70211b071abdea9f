/**
 * `GET /debug/memory` through real servers: JSON or the HTML page by `Accept`, its headers, HEAD,
 * `?refresh=`, auth, and the Express adapter (4 and 5) under a prefix, following the page's
 * relative links.
 */
import { createHash } from 'node:crypto'
import { type Server, createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { oomkitExpress } from '../../middleware/express.js'
import { DEBUG_HEADERS, type TestKit, send, testKit } from '../helpers/http.js'

const express4 = createRequire(import.meta.url)('express4') as typeof express5
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function served(options: Parameters<typeof testKit>[1] = {}, token?: string): Promise<{ t: TestKit; port: number }> {
  const t = testKit(true, options)
  cleanups.push(() => t.kit.stop())
  const server = await t.kit.listen({ port: 0, host: '127.0.0.1', ...(token === undefined ? {} : { token }) })
  return { t, port: server.address.port }
}

const styleHash = (html: string): string =>
  createHash('sha256')
    .update(/<style>([\s\S]*?)<\/style>/.exec(html)![1]!, 'utf8')
    .digest('base64')

describe('GET /debug/memory on the debug server', () => {
  it('JSON without Accept, for */*, for application/json and for a malformed header; Vary: Accept on each', async () => {
    const { port } = await served()
    for (const accept of [undefined, '*/*', 'application/json', 'text/html;q=2', 'text/html;;;', '\u00ff/\u00ff']) {
      const r = await send(port, { path: '/debug/memory', headers: accept === undefined ? {} : { accept } })
      expect(r.status, String(accept)).toBe(200)
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(r.headers.vary).toBe('Accept')
      expect(r.headers['content-security-policy']).toBeUndefined()
      expect(r.json).toHaveProperty('history')
    }
  })

  it('the HTML page for a browser, with a strict CSP whose hash is the served <style>, and the debug headers', async () => {
    const { t, port } = await served()
    const r = await send(port, { path: '/debug/memory', headers: { accept: BROWSER } })
    expect(r.status).toBe(200)
    expect(r.headers).toMatchObject({
      ...DEBUG_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      vary: 'Accept',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-length': String(Buffer.byteLength(r.body)),
    })
    expect(r.headers['content-security-policy']).toBe(
      `default-src 'none'; style-src 'sha256-${styleHash(r.body)}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    expect(r.body).toMatch(/^<!doctype html>/)
    expect(r.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(t.audits().filter((l) => l.route === '/debug/memory')).toEqual([expect.objectContaining({ status: 200, outcome: 'ok' })])
  })

  it('HEAD answers the headers a GET gets, and no body', async () => {
    const { port } = await served()
    for (const accept of [BROWSER, 'application/json']) {
      const get = await send(port, { path: '/debug/memory?refresh=0', headers: { accept } })
      const head = await send(port, { path: '/debug/memory?refresh=0', method: 'HEAD', headers: { accept } })
      expect(head.status).toBe(200)
      expect(head.body).toBe('')
      const same = ['content-type', 'vary', 'content-security-policy', 'x-frame-options', 'referrer-policy', 'cache-control', 'x-content-type-options']
      for (const h of same) expect(head.headers[h], `${accept} ${h}`).toBe(get.headers[h])
      // The report is read again for the HEAD: its length is that of a page like the GET's.
      expect(Math.abs(Number(head.headers['content-length']) - Number(get.headers['content-length']))).toBeLessThan(2000)
    }
  })

  it('reloads every 10 s by default, at the sample interval when longer, as ?refresh=N says, or never with 0', async () => {
    const page = async (port: number, query = ''): Promise<string> =>
      (await send(port, { path: `/debug/memory${query}`, headers: { accept: 'text/html' } })).body
    const fast = await served()
    expect(await page(fast.port)).toContain('<meta http-equiv="refresh" content="10">')
    expect(await page(fast.port, '?refresh=30')).toContain('<meta http-equiv="refresh" content="30">')
    expect(await page(fast.port, '?refresh=0')).not.toContain('http-equiv="refresh"')
    const slow = await served({ sampleIntervalMs: 20_000 })
    expect(await page(slow.port)).toContain('<meta http-equiv="refresh" content="20">')
  })

  it.each(['abc', '-1', '1.5', '86401', ''])('?refresh=%s is a 400 naming the parameter (JSON or HTML alike)', async (v) => {
    const { port } = await served()
    for (const accept of [BROWSER, '*/*']) {
      const r = await send(port, { path: `/debug/memory?refresh=${v}`, headers: { accept } })
      expect(r.status).toBe(400)
      expect(r.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'refresh' })
    }
  })

  it('?refresh twice is a 400', async () => {
    const { port } = await served()
    const r = await send(port, { path: '/debug/memory?refresh=5&refresh=6', headers: { accept: BROWSER } })
    expect(r.status).toBe(400)
  })

  it('auth still applies: with a token, no page without it', async () => {
    const { port } = await served({}, 'page-secret')
    const denied = await send(port, { path: '/debug/memory', headers: { accept: BROWSER } })
    expect(denied.status).toBe(401)
    expect(denied.headers['content-type']).toBe('application/json; charset=utf-8')
    const ok = await send(port, { path: '/debug/memory', headers: { accept: BROWSER, authorization: 'Bearer page-secret' } })
    expect(ok.status).toBe(200)
    expect(ok.headers['content-type']).toBe('text/html; charset=utf-8')
  })
})

describe.each([
  ['Express 4', () => express4()],
  ['Express 5', () => express5()],
] as const)('the memory page through %s under a prefix', (_name, make) => {
  it('serves the page at /ops/debug/memory, keeps the app’s Vary, and its relative links reach the routes under the prefix', async () => {
    const t = testKit()
    const app = make()
    app.use((_req, res, next) => {
      res.setHeader('Vary', 'Origin')
      next()
    })
    app.use('/ops', oomkitExpress(t.kit, { token: 'ops-secret', metrics: false }))
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
    const auth = { authorization: 'Bearer ops-secret' }
    const page = await send(port, { path: '/ops/debug/memory', headers: { ...auth, accept: BROWSER } })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers.vary).toBe('Origin, Accept')
    expect(page.headers['content-security-policy']).toContain(`'sha256-${styleHash(page.body)}'`)
    const base = `http://127.0.0.1:${port}/ops/debug/memory`
    const hrefs = [...page.body.matchAll(/<a href="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&'), base))
    expect(hrefs.map((u) => u.pathname)).toEqual(
      expect.arrayContaining(['/ops/debug/pprof/heap', '/ops/debug/heap', '/ops/debug/memory/top', '/ops/debug/leaks']),
    )
    for (const u of hrefs) {
      // HEAD: the snapshot link must not take one here; every link is oomkit's, answered under the prefix.
      const r = await send(port, { path: u.pathname + u.search, method: 'HEAD', headers: auth })
      expect([200, 503], u.pathname).toContain(r.status)
    }
    const json = await send(port, { path: '/ops/debug/memory', headers: auth })
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8')
  })
})

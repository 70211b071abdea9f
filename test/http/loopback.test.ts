/**
 * The no-token rules of the standalone server: without a token, debug routes answer only on a
 * loopback listener and only for a loopback Host header (DNS rebinding); a non-loopback listener
 * answers 403 with a message saying how to set a token. /metrics is open unless metricsToken.
 */
import { createServer as createNetServer } from 'node:net'
import supertest from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DebugServer } from '../../src/index.js'
import { DEBUG_HEADERS, rawRequest, rawSend, send, testKit, until } from '../helpers/http.js'
import { requireOrSkip } from '../helpers/require.js'

/** Whether this machine can bind ::1 (an IPv6 loopback). */
async function ipv6LoopbackAvailable(): Promise<boolean> {
  const server = createNetServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '::1', resolve)
    })
    return true
  } catch {
    return false
  } finally {
    server.close()
  }
}

describe('loopback listener, no token', () => {
  const t = testKit()
  let server: DebugServer
  let port = 0
  beforeAll(async () => {
    server = await t.kit.listen({ port: 0, host: '127.0.0.1' })
    port = server.address.port
  })
  afterAll(() => t.kit.stop())

  it('logs that it listens loopback-only, with its url', () => {
    expect(t.lines.find((l) => l.msg === 'oomkit debug server listening')).toMatchObject({ url: server.url, auth: 'loopback-only' })
    expect(server.url).toBe(`http://127.0.0.1:${port}`)
  })

  it('answers /debug/memory and /metrics for a loopback Host (supertest)', async () => {
    const r = await supertest(server.url).get('/debug/memory').set('Host', `localhost:${port}`).expect(200)
    expect(r.headers).toMatchObject(DEBUG_HEADERS)
    await supertest(server.url).get('/metrics').expect(200)
  })

  it.each([
    'localhost',
    'localhost:PORT',
    'LOCALHOST:PORT',
    'localhost.',
    '127.0.0.1',
    '127.0.0.1:PORT',
    '127.0.0.2',
    '[::1]',
    '[::1]:PORT',
    '[::ffff:127.0.0.1]:PORT',
    ' localhost ',
  ])('Host %j: 200', async (host) => {
    const r = await send(port, { path: '/debug/memory', headers: { host: host.replace('PORT', String(port)) } })
    expect(r.status).toBe(200)
  })

  it.each([
    'evil.com',
    'evil.com:PORT',
    'localhost.evil.com',
    'localhost.evil.com:PORT',
    '127.0.0.1.nip.io',
    '127.0.0.1.nip.io:PORT',
    '[::1]junk',
    '[::1]:PORTjunk',
    '[::1',
    '[::2]:PORT',
    'localhost:PORT:PORT',
    'localhost:abc',
    'localhost:123456',
    '127.1',
    '0.0.0.0',
    '2130706433',
    '0x7f000001',
    '192.0.2.2',
    'localhost@evil.com',
    'evil.com#localhost',
    '',
  ])('Host %j: 403 OOMKIT_FORBIDDEN_HOST', async (host) => {
    const r = await send(port, { path: '/debug/memory', headers: { host: host.replace('PORT', String(port)) } })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ error: 'OOMKIT_FORBIDDEN_HOST' })
    expect(r.headers).toMatchObject(DEBUG_HEADERS)
  })

  it('an empty Host and a Host with a space, sent raw: 403 (or 400 from the parser), never 200', async () => {
    const empty = await rawRequest(port, 'GET', '/debug/memory', '', 'Host: \r\n')
    expect(empty.status).toBe(403)
    expect(empty.json).toMatchObject({ error: 'OOMKIT_FORBIDDEN_HOST' })
    const spaced = await rawRequest(port, 'GET', '/debug/memory', '', 'Host: 127.0.0.1 evil.com\r\n')
    expect([400, 403]).toContain(spaced.status)
  })

  it('two Host headers: the first one decides (node drops the second); an evil first one is 403', async () => {
    const r = await rawRequest(port, 'GET', '/debug/memory', 'Host: localhost\r\n', 'Host: evil.com\r\n')
    expect(r.status).toBe(403)
  })

  it('HTTP/1.1 without Host is refused by node (400); HTTP/1.0 without Host comes from no browser and is served', async () => {
    const missing = await rawSend(port, 'GET /debug/memory HTTP/1.1\r\nConnection: close\r\n\r\n')
    expect(missing.status).toBe(400)
    const old = await rawSend(port, 'GET /debug/memory HTTP/1.0\r\n\r\n')
    expect(old.status).toBe(200)
  })

  it('the Host check is for debug routes only: /metrics answers any Host', async () => {
    expect((await send(port, { path: '/metrics', headers: { host: 'evil.com' } })).status).toBe(200)
  })

  it('a forbidden Host writes a warn audit line with outcome denied', async () => {
    const before = t.audits().length
    await send(port, { path: '/debug/memory', headers: { host: 'evil.com' } })
    await until(() => t.audits().length > before, 'audit line')
    expect(t.audits().at(-1)).toMatchObject({ route: '/debug/memory', outcome: 'denied', status: 403, level: 40 })
  })
})

describe('listening on "localhost" counts as loopback', () => {
  it('answers without a token', async () => {
    const t = testKit(false)
    try {
      const server = await t.kit.listen({ port: 0, host: 'localhost' })
      expect((await send(server.address.port, { host: server.address.address, path: '/debug/memory', headers: { host: 'localhost' } })).status).toBe(200)
    } finally {
      await t.kit.stop()
    }
  })
})

describe('IPv6 loopback listener (::1), no token', () => {
  let available = false
  const t = testKit(false)
  let server: DebugServer | undefined
  beforeAll(async () => {
    available = requireOrSkip(await ipv6LoopbackAvailable(), 'no IPv6 loopback (::1) on this machine')
    if (available) server = await t.kit.listen({ port: 0, host: '::1' })
  })
  afterAll(() => t.kit.stop())

  it('answers for Host [::1]:port and localhost, refuses evil.com', async () => {
    if (!available || server === undefined) return
    const port = server.address.port
    expect(server.url).toBe(`http://[::1]:${port}`)
    expect((await supertest(server.url).get('/debug/memory')).status).toBe(200)
    expect((await send(port, { host: '::1', path: '/debug/memory', headers: { host: `[::1]:${port}` } })).status).toBe(200)
    expect((await send(port, { host: '::1', path: '/debug/memory', headers: { host: 'localhost' } })).status).toBe(200)
    const evil = await send(port, { host: '::1', path: '/debug/memory', headers: { host: 'evil.com' } })
    expect(evil.status).toBe(403)
    expect(evil.json).toMatchObject({ error: 'OOMKIT_FORBIDDEN_HOST' })
  })
})

describe.each(['0.0.0.0', '::'])('non-loopback listener (%s), no token', (host) => {
  const t = testKit()
  let port = 0
  let listening = false
  beforeAll(async () => {
    if (host === '::') {
      listening = requireOrSkip(await ipv6LoopbackAvailable(), 'no IPv6 on this machine')
      if (!listening) return
    }
    port = (await t.kit.listen({ port: 0, host })).address.port
    listening = true
  })
  afterAll(() => t.kit.stop())

  it('403 OOMKIT_TOKEN_REQUIRED even from 127.0.0.1 with a loopback Host, with a message saying how to set one', async () => {
    if (!listening) return
    for (const hostHeader of [`localhost:${port}`, '127.0.0.1', 'evil.com']) {
      const r = await send(port, { path: '/debug/memory', headers: { host: hostHeader } })
      expect(r.status).toBe(403)
      expect(r.headers).toMatchObject(DEBUG_HEADERS)
      expect(r.json).toMatchObject({ error: 'OOMKIT_TOKEN_REQUIRED' })
      const message = String(r.json?.message)
      expect(message).toContain('OOMKIT_TOKEN=')
      expect(message).toContain('listen({ token })')
      expect(message).toContain('Authorization: Bearer')
    }
    const viaSupertest = await supertest(`http://127.0.0.1:${port}`).get('/debug/memory').expect(403)
    expect(viaSupertest.body).toMatchObject({ error: 'OOMKIT_TOKEN_REQUIRED' })
  })

  it('every spelling and method gets the same 403, not a 404 or 405', async () => {
    if (!listening) return
    for (const [method, path] of [
      ['GET', '/debug/memory/'],
      ['GET', '/DEBUG/memory'],
      ['GET', '/debug/nothing'],
      ['DELETE', '/debug/memory'],
      ['HEAD', '/debug/memory'],
    ] as const) {
      const r = await send(port, { method, path })
      expect(r.status, `${method} ${path}`).toBe(403)
    }
  })

  it('/metrics stays open', async () => {
    if (!listening) return
    await supertest(`http://127.0.0.1:${port}`).get('/metrics').expect(200)
  })
})

describe('non-loopback listener with a token', () => {
  it('the token opens the debug routes from anywhere; the Host is not checked then', async () => {
    const t = testKit()
    try {
      const { port } = (await t.kit.listen({ port: 0, host: '0.0.0.0', token: 'tok-on-any' })).address
      expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer tok-on-any', host: 'evil.com' } })).status).toBe(200)
      expect((await send(port, { path: '/debug/memory' })).status).toBe(401)
    } finally {
      await t.kit.stop()
    }
  })
})

describe('metricsToken', () => {
  const t = testKit()
  let port = 0
  beforeAll(async () => {
    port = (await t.kit.listen({ port: 0, token: 'debug-tok', metricsToken: 'metrics-tok' })).address.port
  })
  afterAll(() => t.kit.stop())

  it('/metrics: 401 without or with a wrong bearer, 200 with the metrics token', async () => {
    const none = await send(port, { path: '/metrics' })
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
    expect(none.json).toMatchObject({ error: 'OOMKIT_UNAUTHORIZED' })
    expect((await send(port, { path: '/metrics', headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await send(port, { path: '/metrics', headers: { authorization: 'Bearer ' } })).status).toBe(401)
    expect((await send(port, { path: '/metrics?token=metrics-tok' })).status).toBe(401)
    expect((await send(port, { path: '/metrics', headers: { authorization: 'Bearer metrics-tok' } })).status).toBe(200)
  })

  it('the two tokens are separate: the debug token does not open /metrics, nor the metrics token /debug', async () => {
    expect((await send(port, { path: '/metrics', headers: { authorization: 'Bearer debug-tok' } })).status).toBe(401)
    expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer metrics-tok' } })).status).toBe(401)
    expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer debug-tok' } })).status).toBe(200)
  })

  it('/metrics spellings: 401 before anything else', async () => {
    for (const path of ['/metrics/', '/METRICS', '//metrics', '/%6detrics']) expect((await send(port, { path })).status, path).toBe(401)
    for (const path of ['/metrics/', '/METRICS', '//metrics', '/%6detrics'])
      expect((await send(port, { path, headers: { authorization: 'Bearer metrics-tok' } })).status, path).toBe(404)
  })

  it('a metrics token alone leaves the debug routes on the loopback rules', async () => {
    const t2 = testKit()
    try {
      const p = (await t2.kit.listen({ port: 0, metricsToken: 'only-metrics' })).address.port
      expect((await send(p, { path: '/debug/memory', headers: { host: 'localhost' } })).status).toBe(200)
      expect((await send(p, { path: '/debug/memory', headers: { host: 'evil.com' } })).status).toBe(403)
      expect((await send(p, { path: '/metrics' })).status).toBe(401)
    } finally {
      await t2.kit.stop()
    }
  })

  it('never logs either token', () => {
    expect(t.text.filter((l) => l.includes('debug-tok') || l.includes('metrics-tok'))).toEqual([])
  })
})

import { type IncomingMessage, type Server, Agent, createServer, get } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../helpers/http.js'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { type LeakKit, leakKit, lineOf } from './helpers.js'
import { type ResourceSummary, originHostPort, requestHostPort } from '../../src/leaks/index.js'

// Outgoing sockets and HTTP clients through diagnostics_channel, against a local server: fetch
// and http.request responses whose bodies are never read are reported with the caller's
// function; a keep-alive agent's sockets are counted per host:port with their age.

const CLIENTS_FILE = join(import.meta.dirname, '..', 'fixtures', 'leaks', 'clients.cjs')
const clients = createRequire(import.meta.url)(CLIENTS_FILE) as {
  unreadFetch(url: string): Promise<Response>
  unreadRequest(url: string, onResponse: (res: IncomingMessage) => void): void
}

const BIG = Buffer.alloc(4 << 20, 'x') // well past what undici and the socket buffer before pausing

let server: Server
let origin: string
let hostPort: string
let t: LeakKit

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(req.url === '/big' ? BIG : 'small')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  hostPort = `127.0.0.1:${(server.address() as { port: number }).port}`
  origin = `http://${hostPort}`
  t = leakKit({ sockets: true, holdThresholdMs: 5000 })
})
afterAll(async () => {
  await t.kit.stop()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const row = (kind: string): ResourceSummary | undefined => t.kit.leaks.report().resources.find((r) => r.kind === kind && r.pool === hostPort)
const openOf = (kind: string): number => Number(row(kind)?.open ?? 0)

describe('socket tracking', () => {
  it('reports a fetch whose response body is never consumed, naming the caller; consuming or cancelling ends it', async () => {
    const response = await clients.unreadFetch(`${origin}/big`)
    expect(response.status).toBe(200)
    const small = await fetch(`${origin}/small`)
    expect(await small.text()).toBe('small')
    await until(() => openOf('fetch') === 1, 'only the unread fetch open')
    t.advance(5000)
    const leases = t.kit.leaks.check().filter((l) => l.kind === 'fetch')
    expect(leases).toEqual([
      expect.objectContaining({
        kind: 'fetch',
        pool: hostPort,
        holdThresholdMs: 5000,
        meta: { method: 'GET', path: '/big' },
        site: expect.objectContaining({ function: 'unreadFetch', file: CLIENTS_FILE, line: lineOf(CLIENTS_FILE, 'LEAK-SITE fetch') }),
      }),
    ])
    expect(await t.metric('oomkit_resources_open', { kind: 'fetch', pool: hostPort })).toBe(1)
    await response.body?.cancel()
    await until(() => openOf('fetch') === 0, 'the cancelled fetch to end')
    expect(t.linesWith('previously reported connection released (unleaked)').filter((l) => l.kind === 'fetch')).toHaveLength(1)
  })

  it('reports an http.request whose response is never read; destroying the response ends it', async () => {
    let response: IncomingMessage | null = null
    const socketsBefore = openOf('socket')
    clients.unreadRequest(`${origin}/big`, (res) => {
      response = res // never read
    })
    await until(() => response !== null, 'the response headers')
    t.advance(5000)
    const leases = t.kit.leaks.check().filter((l) => l.kind === 'http')
    expect(leases).toEqual([
      expect.objectContaining({
        kind: 'http',
        pool: hostPort,
        meta: { method: 'GET', path: '/big' },
        site: expect.objectContaining({ function: 'unreadRequest', file: CLIENTS_FILE, line: lineOf(CLIENTS_FILE, 'LEAK-SITE http') }),
      }),
    ])
    // The socket under it is counted too (sockets are never reported: keep-alive ones live long on purpose).
    expect(openOf('socket')).toBe(socketsBefore + 1)
    ;(response as IncomingMessage | null)?.destroy()
    await until(() => openOf('http') === 0 && openOf('socket') === socketsBefore, 'the request and its socket to close')
  })

  it("counts the sockets a keep-alive agent hoards, per host:port, with the oldest one's age", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    const read = (): Promise<string> =>
      new Promise((resolve, reject) => {
        get(`${origin}/small`, { agent }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (body += c))
          res.on('end', () => resolve(body))
        }).on('error', reject)
      })
    const socketsBefore = openOf('socket')
    expect(await Promise.all(Array.from({ length: 5 }, read))).toEqual(Array(5).fill('small'))
    await until(() => openOf('http') === 0, 'the requests to close')
    expect(openOf('socket')).toBe(socketsBefore + 5)
    t.advance(120_000)
    expect(row('socket')).toMatchObject({ open: socketsBefore + 5, oldestAgeMs: expect.any(Number) })
    expect(Number(row('socket')?.oldestAgeMs)).toBeGreaterThanOrEqual(120_000)
    expect(t.kit.leaks.check().filter((l) => l.kind === 'socket')).toEqual([])
    expect(await t.metric('oomkit_resources_open', { kind: 'socket', pool: hostPort })).toBe(socketsBefore + 5)
    agent.destroy()
    await until(() => openOf('socket') === socketsBefore, "the agent's sockets to close")
  })

  it('labels pools host:port with default ports filled in', () => {
    expect(originHostPort('http://example.com')).toBe('example.com:80')
    expect(originHostPort('https://user:pw@example.com:8443/x')).toBe('example.com:8443')
    expect(originHostPort('http://[::1]:3000')).toBe('[::1]:3000')
    expect(requestHostPort({ host: 'api.local', protocol: 'https:', getHeader: () => 'api.local', once: () => undefined })).toBe('api.local:443')
    expect(requestHostPort({ host: '::1', protocol: 'http:', getHeader: () => '[::1]:8080', once: () => undefined })).toBe('[::1]:8080')
  })
})

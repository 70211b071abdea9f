/**
 * kit.listen / kit.stop in-process: a port in use, listening twice, stop closing everything,
 * listen after stop, bad options, and the server's timeouts and limits.
 */
import { type Server, createServer } from 'node:http'
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { OomkitError } from '../../src/index.js'
import { type TestKit, activeResources, leakedResources, send, testKit } from '../helpers/http.js'
import { internals } from '../../src/internal.js'

const kits: TestKit[] = []
function kitForTest(start = false): TestKit {
  const t = testKit(start)
  kits.push(t)
  return t
}
afterEach(async () => {
  for (const t of kits.splice(0)) await t.kit.stop()
})

/** A TCP server holding a port on 127.0.0.1 until closed. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

/** Whether a TCP connect to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

async function rejection(p: Promise<unknown>): Promise<OomkitError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(OomkitError)
    return err as OomkitError
  }
  throw new Error('expected a rejection')
}

describe('listen', () => {
  it('a port in use rejects with OOMKIT_LISTEN_FAILED naming the port and EADDRINUSE; the process is fine and a retry works', async () => {
    const held = await holdPort()
    try {
      const before = activeResources()
      const t = kitForTest()
      const err = await rejection(t.kit.listen({ port: held.port }))
      expect(err.code).toBe('OOMKIT_LISTEN_FAILED')
      expect(err.message).toContain(String(held.port))
      expect(err.message).toContain('EADDRINUSE')
      expect((err.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
      expect(t.kit.server).toBeNull()
      // The failed server left nothing open.
      expect(await leakedResources(before)).toEqual([])
      // The instance can listen elsewhere afterwards.
      const server = await t.kit.listen({ port: 0 })
      expect((await send(server.address.port, { path: '/debug/memory' })).status).toBe(200)
    } finally {
      await held.close()
    }
  })

  it('a port taken by another listener of the same process (http.Server) fails the same way', async () => {
    const other: Server = createServer((_req, res) => res.end('other'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const err = await rejection(kitForTest().kit.listen({ port: (other.address() as AddressInfo).port }))
      expect(err.code).toBe('OOMKIT_LISTEN_FAILED')
    } finally {
      other.close()
    }
  })

  it('listening twice rejects (awaited or concurrently) and keeps the first server', async () => {
    const t = kitForTest()
    const first = await t.kit.listen({ port: 0 })
    const err = await rejection(t.kit.listen({ port: 0 }))
    expect(err.code).toBe('OOMKIT_LISTEN_FAILED')
    expect(err.message).toContain(first.url)
    expect(t.kit.server).toBe(first)
    expect((await send(first.address.port, { path: '/debug/memory' })).status).toBe(200)

    const t2 = kitForTest()
    const a = t2.kit.listen({ port: 0 })
    const b = t2.kit.listen({ port: 0 })
    expect((await rejection(b)).code).toBe('OOMKIT_LISTEN_FAILED')
    await a
  })

  it('defaults: 127.0.0.1, loopback-only without a token', async () => {
    const t = kitForTest()
    const server = await t.kit.listen({ port: 0 })
    expect(server.address.address).toBe('127.0.0.1')
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it("the server is unref'd: it never keeps a finished process alive", async () => {
    const server = await kitForTest().kit.listen({ port: 0 })
    expect(server.server.listening).toBe(true)
    expect((server.server as unknown as { _handle: { hasRef(): boolean } })._handle.hasRef()).toBe(false)
  })
})

describe('stop', () => {
  it('closes the server: connection refused after, no handle left, open connections cut', async () => {
    const before = activeResources()
    const t = testKit()
    const server = await t.kit.listen({ port: 0, token: 'tok' })
    const port = server.address.port
    expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(200)
    // A client that sent half a request and stalls: stop() must not wait for it.
    const stalled = connect(port, '127.0.0.1')
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()))
    stalled.write('GET /debug/memory HTTP/1.1\r\nHost: localhost\r\n')
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
    stalled.on('error', () => {})
    const started = Date.now()
    await t.kit.stop()
    await closed
    expect(Date.now() - started).toBeLessThan(2000)
    expect(t.kit.server).toBeNull()
    expect(server.server.listening).toBe(false)
    expect(await refused(port)).toBe(true)
    expect(await leakedResources(before)).toEqual([])
  })

  it('is idempotent, and listen after stop rejects with OOMKIT_STOPPED', async () => {
    const t = testKit(false)
    await t.kit.listen({ port: 0 })
    await t.kit.stop()
    await t.kit.stop()
    const err = await rejection(t.kit.listen({ port: 0 }))
    expect(err.code).toBe('OOMKIT_STOPPED')
  })

  it('stop while listen is in flight: listen rejects with OOMKIT_STOPPED and nothing is left listening', async () => {
    const before = activeResources()
    const t = testKit(false)
    const listening = t.kit.listen({ port: 0 })
    await t.kit.stop()
    const err = await rejection(listening)
    expect(err.code).toBe('OOMKIT_STOPPED')
    expect(t.kit.server).toBeNull()
    expect(await leakedResources(before)).toEqual([])
  })

  it('a started kit that listened leaves no handle after stop', async () => {
    const before = activeResources()
    const t = testKit(true)
    const server = await t.kit.listen({ port: 0 })
    await send(server.address.port, { path: '/metrics' })
    await send(server.address.port, { path: '/debug/memory' })
    await t.kit.stop()
    expect(await leakedResources(before)).toEqual([])
  })
})

describe('listen options', () => {
  const SECRET = 'sup3r-secret with-space'
  it.each([
    [{ port: -1 }, 'port'],
    [{ port: 70000 }, 'port'],
    [{ port: 65536 }, 'port'],
    [{ port: 'abc' }, 'port'],
    [{ port: '9469' }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ port: Number.NaN }, 'port'],
    [{ port: null }, 'port'],
    [{ host: '' }, 'host'],
    [{ host: 42 }, 'host'],
    [{ token: SECRET }, 'token'],
    [{ token: '' }, 'token'],
    [{ token: 'tök-€' }, 'token'],
    [{ token: 'x'.repeat(4097) }, 'token'],
    [{ token: 123 }, 'token'],
    [{ metricsToken: SECRET }, 'metricsToken'],
    [{ tokn: 'abc' }, 'tokn'],
    [{ allowUnauthenticated: true }, 'allowUnauthenticated'],
  ])('%j rejects with OOMKIT_INVALID_OPTION naming %s, never the token', async (options, name) => {
    const t = kitForTest()
    const err = await rejection(t.kit.listen(options as never))
    expect(err.code).toBe('OOMKIT_INVALID_OPTION')
    expect(err.message).toContain(name)
    expect(err.message).not.toContain('sup3r-secret')
    expect(err.message).not.toContain('tök')
    expect(err.message).not.toContain('x'.repeat(100))
    expect(t.kit.server).toBeNull()
    // Nothing was started: a good call still works.
    await t.kit.listen({ port: 0 })
  })

  it('not an object: OOMKIT_INVALID_OPTION', async () => {
    for (const bad of [null, 'port', 9469, []]) {
      expect((await rejection(kitForTest().kit.listen(bad as never))).code).toBe('OOMKIT_INVALID_OPTION')
    }
  })

  it('an unresolvable host rejects with OOMKIT_LISTEN_FAILED, not a crash', async () => {
    const err = await rejection(kitForTest().kit.listen({ port: 0, host: 'no-such-host.invalid' }))
    expect(err.code).toBe('OOMKIT_LISTEN_FAILED')
  })
})

describe('server limits and timeouts', () => {
  it('has header and request timeouts set (a stalled client is cut off), keep-alive bounded, headers limited', async () => {
    const { server } = await kitForTest().kit.listen({ port: 0 })
    expect(server.headersTimeout).toBe(10_000)
    expect(server.requestTimeout).toBe(30_000)
    expect(server.headersTimeout).toBeLessThanOrEqual(server.requestTimeout)
    expect(server.keepAliveTimeout).toBe(5_000)
    expect(server.maxHeadersCount).toBe(100)
    expect((server as unknown as { maxHeaderSize?: number }).maxHeaderSize).toBe(32 * 1024)
  })

  it('a stalled client gets 408 when node times it out (the error node raises then, on a real socket), 431 for oversized headers', async () => {
    const { server } = await kitForTest().kit.listen({ port: 0 })
    const port = (server.address() as AddressInfo).port
    for (const [code, status] of [
      ['ERR_HTTP_REQUEST_TIMEOUT', '408'],
      ['HPE_HEADER_OVERFLOW', '431'],
      ['HPE_INVALID_METHOD', '400'],
    ] as const) {
      const accepted = new Promise<import('node:net').Socket>((resolve) => server.once('connection', resolve))
      const client = connect(port, '127.0.0.1')
      client.on('error', () => {})
      let answer = ''
      client.on('data', (d: Buffer) => {
        answer += d.toString('latin1')
      })
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      const serverSide = await accepted
      client.write('GET /debug/memory HTTP/1.1\r\nHost: local')
      await new Promise((resolve) => setTimeout(resolve, 20))
      server.emit('clientError', Object.assign(new Error(code), { code }), serverSide)
      await closed
      expect(answer.split('\r\n')[0], code).toBe(
        `HTTP/1.1 ${status} ${status === '408' ? 'Request Timeout' : status === '431' ? 'Request Header Fields Too Large' : 'Bad Request'}`,
      )
    }
  })

  it('after answering a bad request, the server closes the connection even if the client keeps its side open', async () => {
    const { server } = await kitForTest().kit.listen({ port: 0 })
    const port = (server.address() as AddressInfo).port
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    client.on('error', () => {})
    let answer = ''
    client.on('data', (d: Buffer) => {
      answer += d.toString('latin1')
    })
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
    client.write('FOO /debug/memory HTTP/1.1\r\nHost: localhost\r\n\r\n')
    await ended
    expect(answer.startsWith('HTTP/1.1 400 ')).toBe(true)
    // The client never ends its side: the server must not wait for it.
    const connections = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
    const deadline = Date.now() + 1000
    while ((await connections()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await connections()).toBe(0)
    client.destroy()
  })

  it('too many headers: answered, never a crash', async () => {
    const t = kitForTest()
    const { port } = (await t.kit.listen({ port: 0, token: 'tok' })).address
    const headers: Record<string, string> = { authorization: 'Bearer tok' }
    for (let i = 0; i < 150; i++) headers[`x-h${i}`] = 'v'
    const r = await send(port, { path: '/debug/memory', headers })
    expect(r.status === null || r.status < 500).toBe(true)
    expect((await send(port, { path: '/debug/memory', headers: { authorization: 'Bearer tok' } })).status).toBe(200)
  })

  it('a client that goes away mid-request is audited as aborted and the server answers on', async () => {
    const t = kitForTest()
    internals(t.kit).addRoute({
      path: '/debug/test-slow',
      methods: ['GET'],
      kind: 'debug',
      async handle({ res }) {
        // Answers only once the client is gone (or after 5 s): no race with a stalled worker.
        await new Promise((resolve) => {
          res.once('close', resolve)
          setTimeout(resolve, 5000).unref()
        })
        if (!res.destroyed) res.end('late')
      },
    })
    const { port } = (await t.kit.listen({ port: 0 })).address
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET /debug/test-slow HTTP/1.1\r\nHost: localhost\r\n\r\n')
    await new Promise((resolve) => setTimeout(resolve, 20))
    socket.destroy()
    for (let i = 0; i < 100 && t.audits().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(t.audits().at(-1)).toMatchObject({ route: '/debug/test-slow', outcome: 'aborted' })
    expect((await send(port, { path: '/debug/memory' })).status).toBe(200)
  })

  it('a route that throws answers 500 OOMKIT_INTERNAL with the debug headers and logs it; the server answers on', async () => {
    const t = kitForTest()
    internals(t.kit).addRoute({
      path: '/debug/test-throw',
      methods: ['GET'],
      kind: 'debug',
      handle() {
        throw new Error('boom in a route')
      },
    })
    const { port } = (await t.kit.listen({ port: 0 })).address
    const r = await send(port, { path: '/debug/test-throw' })
    expect(r.status).toBe(500)
    expect(r.json).toMatchObject({ error: 'OOMKIT_INTERNAL' })
    expect(r.body).not.toContain('boom')
    expect(r.headers['cache-control']).toBe('no-store')
    expect(t.lines.some((l) => l.msg === 'oomkit route failed' && l.level === 50)).toBe(true)
    expect((await send(port, { path: '/debug/memory' })).status).toBe(200)
  })
})

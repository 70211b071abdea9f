/**
 * `/debug/heap` takes nothing before the whole request has arrived. Node runs the handler once the
 * headers are in; a body it then fails to parse gets the HTTP server's own 400 (oomkit's server,
 * or node's default clientError handling behind Express). Sent on raw sockets, since no client
 * library sends these. Each case checks what went on the wire, that no snapshot was taken (no
 * "starting" line, nothing counted, no cooldown started), and the one audit line.
 */
import { connect } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { rawSend, until } from '../../helpers/http.js'
import { type Served, TARGETS, TOKEN, audits, get, keepAlive, removeTempDirs, serve, settle, snapshotCount, stopKits } from './helpers.js'

afterEach(stopKits)
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

const AUTH = `Authorization: Bearer ${TOKEN}\r\n`

/** Headers that parse, then a body that does not. */
const MALFORMED = [
  ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked\r\n', '5\r\nhello\r\n0\r\n\r\n'],
  ['a bad chunk size', 'Transfer-Encoding: chunked\r\n', 'zz\r\nhello\r\n0\r\n\r\n'],
  ['a bare LF inside chunks', 'Transfer-Encoding: chunked\r\n', '5\nhello\r\n0\r\n\r\n'],
] as const

/** Every outcome the snapshot counter has, all zero. */
async function nothingCounted(t: Served): Promise<void> {
  for (const outcome of ['ok', 'aborted', 'refused_busy', 'refused_cooldown', 'error']) expect(await snapshotCount(t.registry, outcome), outcome).toBe(0)
}

/** No snapshot was taken and none is in the way: HEAD says one is possible now (no cooldown ran). */
async function noSnapshotTaken(t: Served): Promise<void> {
  expect(t.lines.filter((l) => l.msg === 'heap snapshot starting')).toEqual([])
  await nothingCounted(t)
  expect((await get(t.url, { method: 'HEAD', headers: t.auth })).status).toBe(200)
}

describe.each(TARGETS)('%s', (target) => {
  describe.each(['GET', 'POST'] as const)('%s with valid headers and a malformed body', (method) => {
    it.each(MALFORMED)("%s: the server's 400, no snapshot, one audit line saying 400 bad-request", async (_name, header, body) => {
      const t = await serve(target, { snapshot: { cooldownMs: 60_000 } })
      const r = await rawSend(t.port, `${method} /debug/heap HTTP/1.1\r\nHost: localhost\r\n${AUTH}${header}\r\n${body}`)
      expect(r.statusLine).toBe('HTTP/1.1 400 Bad Request')
      await until(() => audits(t.lines).length > 0, 'the audit line')
      expect(audits(t.lines)).toEqual([expect.objectContaining({ method, status: 400, outcome: 'bad-request', remoteAddress: '127.0.0.1' })])
      await noSnapshotTaken(t)
      expect(t.lines.filter((l) => l.level >= 50)).toEqual([])
    })
  })

  it.each([
    ['closes it', 400, 'bad-request'],
    ['resets it', null, 'aborted'],
  ] as const)('a body cut short (the client %s before Content-Length is in): no snapshot, audited as %s %s', async (how, status, outcome) => {
    const t = await serve(target)
    const socket = connect(t.port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write(`POST /debug/heap HTTP/1.1\r\nHost: localhost\r\n${AUTH}Content-Length: 100\r\n\r\n0123456789`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    // A close is an incomplete body to the parser (the server answers 400, whoever still reads);
    // after a reset nothing can be answered at all.
    if (how === 'closes it') socket.end()
    else socket.resetAndDestroy()
    await until(() => audits(t.lines).length > 0, 'the audit line')
    expect(audits(t.lines)).toEqual([expect.objectContaining({ method: 'POST', status, outcome, remoteAddress: '127.0.0.1' })])
    await noSnapshotTaken(t)
    socket.destroy()
  })

  it('a body over 16 KiB (declared, or chunked): 400 OOMKIT_BAD_REQUEST and the connection closed, no snapshot', async () => {
    const t = await serve(target)
    const big = 'x'.repeat(20_000)
    const declared = await rawSend(t.port, `POST /debug/heap HTTP/1.1\r\nHost: localhost\r\n${AUTH}Content-Length: ${big.length}\r\n\r\n${big}`)
    expect(declared.status).toBe(400)
    expect(declared.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST' })
    expect(declared.headers.connection).toBe('close')
    expect(declared.headers['cache-control']).toBe('no-store')
    const chunkedBody = `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`
    const chunked = await rawSend(t.port, `POST /debug/heap HTTP/1.1\r\nHost: localhost\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n${chunkedBody}`)
    expect(chunked.status).toBe(400)
    expect(chunked.json?.message).toMatch(/takes no body/)
    await until(() => audits(t.lines).length >= 2, 'the audit lines')
    expect(audits(t.lines)).toEqual([
      expect.objectContaining({ method: 'POST', status: 400, outcome: 'bad-request', remoteAddress: '127.0.0.1' }),
      expect.objectContaining({ method: 'POST', status: 400, outcome: 'bad-request', remoteAddress: '127.0.0.1' }),
    ])
    await noSnapshotTaken(t)
  })

  it('a small body, sent slowly and chunked: read first, then the snapshot', async () => {
    const t = await serve(target, { snapshot: { cooldownMs: 0 } })
    const socket = connect(t.port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    const closed = new Promise((resolve) => socket.on('close', resolve))
    socket.write(`POST /debug/heap HTTP/1.1\r\nHost: localhost\r\n${AUTH}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    // The request is not complete yet: nothing was taken, nothing was answered.
    expect(t.lines.some((l) => l.msg === 'heap snapshot starting')).toBe(false)
    expect(chunks).toEqual([])
    socket.write('0\r\n\r\n')
    await closed
    await settle(t.kit)
    expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)
    expect(audits(t.lines)).toEqual([expect.objectContaining({ method: 'POST', status: 200, outcome: 'ok', remoteAddress: '127.0.0.1' })])
  })
})

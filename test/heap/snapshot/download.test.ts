/**
 * Snapshot downloads against clients that do not simply read to the end, on oomkit's own server
 * and on an Express 4 and 5 app's port: a client that stops reading is cut off after
 * `snapshot.idleTimeoutMs` (and `Retry-After` meanwhile says when a retry can succeed), a slow
 * client that keeps reading is not, and a client abort is an `aborted` outcome with no error line
 * and with the remote address on its audit line. Raw sockets: the test decides when bytes are read.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { until } from '../../helpers/http.js'
import {
  type Served,
  TARGETS,
  TOKEN,
  audits,
  get,
  jsonBody,
  keepAlive,
  openFilesIn,
  parseSnapshot,
  removeTempDirs,
  serve,
  settle,
  sleep,
  snapshotCount,
  stopKits,
} from './helpers.js'

afterEach(stopKits)
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

// ~5 MB more heap of small objects: the file (~20 MB) is several times what the socket buffers hold
// (4 MiB send, a few hundred KiB receive for a client that reads nothing), so a stalled client
// really leaves the response backpressured.
const ballast = Array.from({ length: 60_000 }, (_, i) => ({ id: i, name: `ballast-${i}` }))

/** A download in progress on a raw socket. */
interface RawDownload {
  readonly socket: Socket
  /** Resolves with the status and Content-Length once the response head is in. */
  readonly head: Promise<{ status: number; contentLength: number }>
  /** Resolves when the server has closed the connection (read to the end, or cut off). */
  readonly closed: Promise<void>
  /** Body bytes read so far. */
  bodyBytes(): number
  /** Reads on to the end, with no more pauses. */
  readOn(): void
}

/**
 * Sends `GET /debug/heap` (identity encoding, `Connection: close`) and reads the body at the pace
 * `pause` sets: after each chunk it says how long to stop reading (0: read on; Infinity: stop until
 * the test resumes the socket).
 */
function download(port: number, pace: (bodyBytes: number, contentLength: number) => number): RawDownload {
  let pause = pace
  const socket = connect(port, '127.0.0.1')
  let headText = ''
  let body = -1
  let contentLength = 0
  let gotHead: (h: { status: number; contentLength: number }) => void = () => {}
  const head = new Promise<{ status: number; contentLength: number }>((resolve) => (gotHead = resolve))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => {
    if (body < 0) {
      headText += chunk.toString('latin1')
      const end = headText.indexOf('\r\n\r\n')
      if (end < 0) return
      contentLength = Number(/\r\ncontent-length: (\d+)/i.exec(headText)?.[1] ?? 0)
      body = headText.length - end - 4
      gotHead({ status: Number(headText.slice(9, 12)), contentLength })
    } else body += chunk.length
    const ms = pause(body, contentLength)
    if (ms <= 0) return
    socket.pause()
    if (ms !== Infinity) setTimeout(() => socket.resume(), ms)
  })
  socket.write(`GET /debug/heap HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
  return {
    socket,
    head,
    closed,
    bodyBytes: () => Math.max(0, body),
    readOn() {
      pause = () => 0
      socket.resume()
    },
  }
}

/** The audit lines of aborted downloads. */
const abortedLines = (t: Served): ReturnType<typeof audits> => audits(t.lines).filter((l) => l.outcome === 'aborted')

describe.each(TARGETS)('%s', (target) => {
  it('client aborts: outcome aborted, counted, no error line, the remote address on the audit line, nothing left open', async () => {
    const t = await serve(target, { snapshot: { cooldownMs: 0 } })
    for (let i = 0; i < 2; i++) {
      const r = await get(t.url, { headers: t.auth, abortAfterFirstChunk: true })
      expect(r.status).toBe(200)
      await settle(t.kit)
    }
    expect(await snapshotCount(t.registry, 'aborted')).toBe(2)
    expect(await snapshotCount(t.registry, 'error')).toBe(0)
    expect(audits(t.lines)).toEqual(Array(2).fill(expect.objectContaining({ outcome: 'aborted', status: 200, remoteAddress: '127.0.0.1' })))
    expect(t.lines.filter((l) => l.level >= 50)).toEqual([])
    expect(t.lines.filter((l) => l.msg === 'heap snapshot download aborted by the client').map((l) => l.level)).toEqual([30, 30])
    expect(openFilesIn(t.dir)).toEqual([])
    expect(ballast.length).toBe(60_000)
  })

  it('a client that stops reading is cut off after idleTimeoutMs; Retry-After meanwhile is when a retry succeeds; then the next one does', async () => {
    const idleTimeoutMs = 3000
    const t = await serve(target, { snapshot: { cooldownMs: 1000, idleTimeoutMs } })
    const d = download(t.port, (bytes) => (bytes >= 64 * 1024 ? Infinity : 0))
    const { status, contentLength } = await d.head
    expect(status).toBe(200)
    await until(() => d.bodyBytes() >= 64 * 1024, '64 KiB of the body', 5000)
    const stoppedAt = Date.now()

    // Over a second without progress: the guard takes the download for stalled, and tells the
    // time until it is cut off (~1.7 s), where the cooldown alone (over by now) would say 1.
    await sleep(1300)
    const busy = await get(t.url, { method: 'HEAD', headers: t.auth })
    const askedAt = Date.now()
    expect(busy.status).toBe(429)
    const retryAfter = Number(busy.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(2)
    // Never more than the larger of the cooldown and the idle timeout.
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(idleTimeoutMs / 1000))
    const refused = await get(t.url, { headers: t.auth })
    expect(refused.status).toBe(429)
    expect(jsonBody(refused).error).toBe('OOMKIT_SNAPSHOT_IN_PROGRESS')

    await until(() => abortedLines(t).length > 0, 'the cut-off', idleTimeoutMs + 5000)
    const cutOffAt = Date.now()
    await settle(t.kit)
    // Cut off for lack of progress, not before; the slot was free when Retry-After said (give or
    // take a busy machine's timer and processing delays).
    expect(cutOffAt - stoppedAt).toBeGreaterThanOrEqual(idleTimeoutMs - 100)
    expect(cutOffAt - stoppedAt).toBeLessThan(idleTimeoutMs + 3000)
    expect(cutOffAt - askedAt).toBeLessThanOrEqual(retryAfter * 1000 + 1000)
    expect(abortedLines(t)).toEqual([expect.objectContaining({ method: 'GET', status: 200, stalled: true, remoteAddress: '127.0.0.1' })])
    expect(await snapshotCount(t.registry, 'aborted')).toBe(1)
    expect(t.lines.find((l) => l.msg.startsWith('heap snapshot download cut off'))).toMatchObject({ level: 30, idleTimeoutMs })
    expect(t.lines.filter((l) => l.level >= 50)).toEqual([])
    // The deleted file's disk space is free again.
    expect(openFilesIn(t.dir)).toEqual([])

    // What the client got stops short of the file, and the connection is closed.
    d.readOn()
    await d.closed
    expect(d.bodyBytes()).toBeLessThan(contentLength)

    // The cooldown (1 s) is long over: the next one succeeds.
    const next = await get(t.url, { headers: t.auth })
    await settle(t.kit)
    expect(next.status).toBe(200)
    expect(parseSnapshot(next.body).nodeCount).toBeGreaterThan(10_000)
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)
  })

  it('a slow client that keeps reading (with a pause shorter than idleTimeoutMs) gets the whole file, however long it takes', async () => {
    const idleTimeoutMs = 1500
    const t = await serve(target, { snapshot: { cooldownMs: 0, idleTimeoutMs } })
    let startedAt = 0
    let paused = false
    const d = download(t.port, (bytes, length) => {
      if (startedAt === 0) startedAt = Date.now()
      if (!paused && bytes > length / 2) {
        paused = true
        return 500
      }
      // About 2 s for the whole file, plus the pause.
      return startedAt + (bytes / length) * 2000 + (paused ? 500 : 0) - Date.now()
    })
    const { status, contentLength } = await d.head
    expect(status).toBe(200)
    await d.closed
    const tookMs = Date.now() - startedAt
    await settle(t.kit)
    expect(d.bodyBytes()).toBe(contentLength)
    // Longer than the idle timeout, and with a pause in it: elapsed time alone never cuts a download off.
    expect(tookMs).toBeGreaterThan(idleTimeoutMs + 500)
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)
    expect(await snapshotCount(t.registry, 'aborted')).toBe(0)
    expect(audits(t.lines)).toEqual([expect.objectContaining({ outcome: 'ok', status: 200, remoteAddress: '127.0.0.1' })])
    expect(audits(t.lines)[0]?.stalled).toBeUndefined()
  })
})

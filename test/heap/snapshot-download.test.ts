/**
 * Snapshot downloads against clients that do not simply read to the end, on oomkit's own server
 * and on an Express 4 and 5 app's port: a client abort is an `aborted` outcome with no error line
 * and with the remote address on its audit line.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { TARGETS, audits, get, keepAlive, openFilesIn, removeTempDirs, serve, settle, snapshotCount, stopKits } from './snapshot-helpers.js'

afterEach(stopKits)
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

// ~5 MB more heap of small objects: the file (~20 MB) is several times what the socket buffers
// hold, so an abort after the first chunk really cuts the download short.
const ballast = Array.from({ length: 60_000 }, (_, i) => ({ id: i, name: `ballast-${i}` }))

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
})

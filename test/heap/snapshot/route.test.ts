import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  audits,
  get,
  jsonBody,
  keepAlive,
  openFilesIn,
  parseSnapshot,
  removeTempDirs,
  settle,
  sleep,
  snapshotCount,
  startKit,
  stopKits,
  tightCgroup,
} from './helpers.js'

afterEach(stopKits)
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

describe('GET /debug/heap', () => {
  it('streams a snapshot that parses, written 0600 in a 0700 directory and deleted after the download', async () => {
    const seen: { msg: string; dirMode: number; files: { mode: number; size: number }[] }[] = []
    const t = await startKit({ snapshot: { cooldownMs: 60_000 } }, (line, dir) => {
      if (line.msg !== 'heap snapshot starting' && line.msg !== 'heap snapshot written') return
      const files = readdirSync(dir).map((f) => statSync(join(dir, f)))
      seen.push({ msg: line.msg, dirMode: statSync(dir).mode & 0o777, files: files.map((s) => ({ mode: s.mode & 0o777, size: s.size })) })
    })
    const r = await get(t.url)
    await settle(t.kit)
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('application/octet-stream')
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="heap-\d+-\d{8}T\d{6}Z\.heapsnapshot"$/)
    expect(r.headers['cache-control']).toBe('no-store')
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(Number(r.headers['x-oomkit-snapshot-bytes'])).toBe(r.body.length)
    expect(Number(r.headers['content-length'])).toBe(r.body.length)
    expect(Number(r.headers['x-oomkit-blocked-ms'])).toBeGreaterThan(0)
    const snap = parseSnapshot(r.body)
    expect(snap.nodeCount).toBeGreaterThan(10_000)
    expect(snap.nodesFromArray).toBe(snap.nodeCount)
    expect(snap.edgesFromArray).toBe(snap.edgeCount)

    // During the write: the empty file already exists 0600 in a 0700 dir; right after it, full size.
    expect(seen).toEqual([
      { msg: 'heap snapshot starting', dirMode: 0o700, files: [{ mode: 0o600, size: 0 }] },
      { msg: 'heap snapshot written', dirMode: 0o700, files: [{ mode: 0o600, size: r.body.length }] },
    ])
    expect(readdirSync(t.dir)).toEqual([])
    expect(openFilesIn(t.dir)).toEqual([])
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)

    const starting = t.lines.find((l) => l.msg === 'heap snapshot starting')!
    expect(starting).toMatchObject({ forced: false, overridden: false, limit: null })
    for (const k of ['heapUsed', 'neededBytes', 'headroomBytes', 'workingSet']) expect(typeof starting[k]).toBe('number')
    const written = t.lines.find((l) => l.msg === 'heap snapshot written')!
    expect(written).toMatchObject({ bytes: r.body.length, blockedMs: Number(r.headers['x-oomkit-blocked-ms']) })
    expect(audits(t.lines)).toEqual([expect.objectContaining({ outcome: 'ok', status: 200, snapshotBytes: r.body.length })])
    // Secret material never reaches the log.
    expect(t.lines.some((l) => JSON.stringify(l).includes('node_fields'))).toBe(false)

    const status = t.kit.report().snapshot!
    expect(status).toMatchObject({ enabled: true, possible: false, reason: 'OOMKIT_SNAPSHOT_COOLDOWN', inProgress: false, dir: t.dir, dirOnTmpfs: false })
    expect(status.cooldownRemainingMs).toBeGreaterThan(50_000)
    expect(Date.parse(status.lastSnapshotAt as string)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('gzips when the client accepts it, and takes POST too', async () => {
    const t = await startKit()
    const r = await get(t.url, { method: 'POST', headers: { 'accept-encoding': 'br;q=1, gzip;q=0.5' } })
    await settle(t.kit)
    expect(r.status).toBe(200)
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(r.headers['content-length']).toBeUndefined()
    const snap = parseSnapshot(r.body, true)
    expect(snap.nodesFromArray).toBe(snap.nodeCount)
    expect(r.body.length).toBeLessThan(Number(r.headers['x-oomkit-snapshot-bytes']))
    expect(readdirSync(t.dir)).toEqual([])
  })

  it('takes one snapshot for 10 concurrent requests; the other nine get 429 with Retry-After; free again after the cooldown', async () => {
    const t = await startKit({ snapshot: { cooldownMs: 1500 } })
    const replies = await Promise.all(Array.from({ length: 10 }, () => get(t.url)))
    await settle(t.kit)
    const statuses = replies.map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array<number>(9).fill(429)])
    for (const r of replies.filter((x) => x.status === 429)) {
      expect(r.headers['retry-after']).toMatch(/^[12]$/)
      expect(['OOMKIT_SNAPSHOT_IN_PROGRESS', 'OOMKIT_SNAPSHOT_COOLDOWN']).toContain(jsonBody(r).error)
    }
    expect(t.lines.filter((l) => l.msg === 'heap snapshot starting')).toHaveLength(1)
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)
    expect((await snapshotCount(t.registry, 'refused_busy')) + (await snapshotCount(t.registry, 'refused_cooldown'))).toBe(9)

    const status = t.kit.report().snapshot as { cooldownRemainingMs: number; possible: boolean }
    expect(status.possible).toBe(false)
    expect((await get(t.url, { method: 'HEAD' })).status).toBe(429)
    await sleep(status.cooldownRemainingMs + 50)
    const head = await get(t.url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
  })

  it('on a client abort mid-download: no temp file, no open descriptor, the slot free', async () => {
    // ~10 MB more heap (~25 MB in all) of small objects: the file is far larger than the socket buffers.
    const ballast = Array.from({ length: 120_000 }, (_, i) => ({ id: i, name: `ballast-${i}`, next: null as unknown }))
    const t = await startKit({ snapshot: { cooldownMs: 0 } })
    expect(openFilesIn(t.dir)).toEqual([])
    const r = await get(t.url, { abortAfterFirstChunk: true })
    expect(r.status).toBe(200)
    expect(r.body.length).toBeLessThan(Number(r.headers['x-oomkit-snapshot-bytes']) / 4)
    await settle(t.kit)
    expect(readdirSync(t.dir)).toEqual([])
    expect(openFilesIn(t.dir)).toEqual([])
    expect(await snapshotCount(t.registry, 'aborted')).toBe(1)
    expect(await snapshotCount(t.registry, 'ok')).toBe(0)
    expect(audits(t.lines)).toEqual([expect.objectContaining({ outcome: 'aborted' })])
    expect((await get(t.url, { method: 'HEAD' })).status).toBe(200)
    expect(ballast.length).toBe(120_000)
  })
})

describe('HEAD and force', () => {
  it('HEAD answers what GET would get and never takes a snapshot', async () => {
    const t = await startKit()
    const r = await get(t.url, { method: 'HEAD' })
    expect(r.status).toBe(200)
    expect(r.body.length).toBe(0)
    expect(r.headers['content-type']).toBe('application/octet-stream')
    expect(Number(r.headers['x-oomkit-needed-bytes'])).toBeGreaterThan(0)
    expect(Number(r.headers['x-oomkit-headroom-bytes'])).toBeGreaterThan(0)
    expect(t.lines.some((l) => l.msg === 'heap snapshot starting')).toBe(false)
    expect(readdirSync(t.dir)).toEqual([])
    for (const outcome of ['ok', 'refused_headroom', 'refused_busy', 'error']) expect(await snapshotCount(t.registry, outcome)).toBe(0)
    expect(audits(t.lines)).toEqual([expect.objectContaining({ method: 'HEAD', outcome: 'possible', status: 200 })])
  })

  it('refuses with 503 and the numbers when headroom is short; ?force=1 takes it anyway and the audit line says so', async () => {
    const t = await startKit(tightCgroup())
    const head = await get(t.url, { method: 'HEAD' })
    expect(head.status).toBe(503)
    expect(head.headers['retry-after']).toBe('60')
    expect(head.body.length).toBe(0)

    const r = await get(t.url)
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('60')
    const body = jsonBody(r)
    expect(body).toMatchObject({ error: 'OOMKIT_INSUFFICIENT_HEADROOM', headroomBytes: 1024 * 1024 })
    expect(body.message).toMatch(/container limit/)
    expect(body.neededBytes as number).toBeGreaterThan(body.headroomBytes as number)
    expect(body.hint).toMatch(/\/debug\/pprof\/heap/)
    expect(t.kit.report().snapshot).toMatchObject({ possible: false, reason: 'OOMKIT_INSUFFICIENT_HEADROOM', headroomBytes: 1024 * 1024 })
    expect(readdirSync(t.dir)).toEqual([])

    const forced = await get(`${t.url}?force=1`)
    await settle(t.kit)
    expect(forced.status).toBe(200)
    expect(parseSnapshot(forced.body).nodeCount).toBeGreaterThan(0)
    expect(t.lines.find((l) => l.msg === 'heap snapshot starting')).toMatchObject({ forced: true, overridden: true, limit: 268435456 })
    const lines = audits(t.lines)
    expect(lines.map((l) => [l.method, l.status, l.outcome, l.forced, l.overridden])).toEqual([
      ['HEAD', 503, 'refused_headroom', undefined, undefined],
      ['GET', 503, 'refused_headroom', undefined, undefined],
      ['GET', 200, 'ok', true, true],
    ])
    expect(await snapshotCount(t.registry, 'refused_headroom')).toBe(1)
    expect(await snapshotCount(t.registry, 'ok')).toBe(1)
  })

  it('answers 400 naming force for a bad value, before any work', async () => {
    const t = await startKit()
    for (const q of ['force=abc', 'force=1&force=1', 'force=']) {
      const r = await get(`${t.url}?${q}`)
      expect(r.status).toBe(400)
      expect(jsonBody(r)).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'force' })
      expect(jsonBody(r).message).toMatch(/force/)
    }
    expect(t.lines.some((l) => l.msg === 'heap snapshot starting')).toBe(false)
    expect(await snapshotCount(t.registry, 'ok')).toBe(0)
  })
})

// The bounded uploader against a real ingest server on 127.0.0.1 that accepts, refuses, hangs or is
// down: every outcome counted, one upload in flight per profile, each abandoned at its timeout,
// warnings rate-limited (injected clock), nothing left open once they settle.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AllocationNode, encodeHeapProfile } from '../../src/heap/profile/index.js'
import { IngestUploader, resolvePyroscope, type UploadOutcome } from '../../src/pyroscope/index.js'
import { activeResources, captureLogger, leakedResources, type Captured } from '../helpers/http.js'
import { IngestServer } from './ingest-server.js'

const leaf = (name: string, bytes: number, children: AllocationNode[] = []): AllocationNode => ({
  name,
  file: '/app/x.js',
  line: 3,
  column: 1,
  scriptId: 1,
  bytes,
  objects: 4,
  children,
})
const profile = () => encodeHeapProfile(leaf('(root)', 0, [leaf('load', 4096)]), { intervalBytes: 524_288 })
const window = { from: new Date(Date.now() - 60_000), until: new Date() }

let ingest: IngestServer
let now: number
let cap: Captured

function uploader(extra: object = {}, server = ingest.url): IngestUploader {
  const options = resolvePyroscope({ serverAddress: server, appName: 'svc', uploadTimeoutMs: 300, authToken: 'tok-1', ...extra }, {}) as Exclude<
    ReturnType<typeof resolvePyroscope>,
    false
  >
  return new IngestUploader({ options, name: 'svc{pod=p-1}', logger: cap.logger, now: () => now })
}

beforeAll(async () => {
  ingest = await IngestServer.start()
})
afterAll(async () => {
  await ingest.close()
})
beforeEach(() => {
  ingest.mode = { kind: 'ok' }
  ingest.uploads.length = 0
  ingest.maxConcurrent = 0
  now = 1_000_000
  cap = captureLogger()
})

const warnings = (): Record<string, unknown>[] => cap.lines.filter((l) => l.level === 40)

describe('IngestUploader', () => {
  it('ok: the profile arrives gzipped with the name, the window and the token', async () => {
    const before = activeResources()
    const u = uploader()
    expect(await u.send('heap', profile(), window)).toBe('ok')
    const got = ingest.uploads[0]!
    expect(got).toMatchObject({ status: 200, kind: 'heap', gzipped: true, appName: 'svc', tags: { pod: 'p-1' } })
    expect(got.query.from).toBe(String(Math.floor(window.from.getTime() / 1000)))
    expect(got.headers.authorization).toBe('Bearer tok-1')
    expect(u.counts.heap).toEqual({ ok: 1, rejected: 0, error: 0, timeout: 0, dropped: 0 })
    expect(u.last('heap')).toMatchObject({ outcome: 'ok', status: 200 })
    expect(warnings()).toEqual([])
    expect(await leakedResources(before)).toEqual([])
  })

  it("rejected: an HTTP error is counted and warned about with the server's reason", async () => {
    ingest.mode = { kind: 'status', status: 401 }
    const u = uploader()
    expect(await u.send('wall', profile(), window)).toBe('rejected')
    expect(u.counts.wall.rejected).toBe(1)
    expect(warnings()[0]).toMatchObject({ profile: 'wall', outcome: 'rejected', status: 401, reason: 'refused by the test server' })
  })

  it('error: a server that is down is counted with its code, fast', async () => {
    const gone = await IngestServer.start()
    await gone.down()
    const u = uploader({}, gone.url)
    expect(await u.send('heap', profile(), window)).toBe('error')
    expect(u.counts.heap.error).toBe(1)
    expect(warnings()[0]).toMatchObject({ outcome: 'error', code: 'ECONNREFUSED' })
  })

  it('timeout: a server that answers after 30 s is abandoned at uploadTimeoutMs and its connection closed', async () => {
    const before = activeResources()
    ingest.mode = { kind: 'slow', delayMs: 30_000 }
    const u = uploader()
    expect(await u.send('heap', profile(), window)).toBe('timeout')
    expect(u.counts.heap.timeout).toBe(1)
    expect(warnings()[0]).toMatchObject({ outcome: 'timeout', msg: expect.stringContaining('within 300 ms') as string })
    expect(await leakedResources(before)).toEqual([])
  })

  it('dropped: one upload in flight per profile; the next is dropped, not queued; the other profile and a final one still go', async () => {
    ingest.mode = { kind: 'slow', delayMs: 30_000 }
    const u = uploader()
    const first = u.send('heap', profile(), window)
    expect(u.busy('heap')).toBe(true)
    const outcomes: UploadOutcome[] = []
    for (let i = 0; i < 20; i++) outcomes.push(await u.send('heap', profile(), window))
    expect(outcomes).toEqual(Array(20).fill('dropped'))
    const wall = u.send('wall', profile(), window)
    const final = u.send('heap', profile(), window, true)
    await u.settle()
    expect([await first, await wall, await final]).toEqual(['timeout', 'timeout', 'timeout'])
    expect(u.counts.heap).toMatchObject({ dropped: 20, timeout: 2 })
    expect(ingest.maxConcurrent).toBe(3)
    expect(u.busy('heap')).toBe(false)
  })

  it('warns once a minute per profile and outcome, then says how many it did not log', async () => {
    ingest.mode = { kind: 'status', status: 503 }
    const u = uploader()
    for (let i = 0; i < 10; i++) {
      await u.send('heap', profile(), window)
      await u.send('wall', profile(), window)
      now += 1000
    }
    expect(warnings().map((w) => `${String(w.profile)}:${String(w.outcome)}`)).toEqual(['heap:rejected', 'wall:rejected'])
    now += 60_000
    await u.send('heap', profile(), window)
    expect(warnings()[2]).toMatchObject({ profile: 'heap', outcome: 'rejected', suppressed: 9 })
    u.flushWarnings()
    expect(warnings()[3]).toMatchObject({ key: 'wall:rejected', suppressed: 9 })
    expect(u.counts.heap.rejected + u.counts.wall.rejected).toBe(21)
  })

  it('fail(): a profile that cannot be read counts as an error', () => {
    const u = uploader()
    u.fail('heap', new Error('sampler gone'))
    expect(u.counts.heap.error).toBe(1)
    expect(warnings()[0]).toMatchObject({ outcome: 'error', error: 'sampler gone' })
  })
})

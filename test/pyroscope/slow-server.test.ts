// A Pyroscope that is down, then slow (it answers after 30 s), under a minute of steady load: the
// app's request rate and memory stay flat, at most one upload per profile is in flight, every
// failure is counted and the warnings are rate-limited. Real processes: the service (oomkit from
// dist/, Pyroscope flushing every second, the default 10 s upload timeout), an ingest server and a
// modest load (4 connections, ~10 ms apart) from this process. Runs ~65 s, in its own file so that
// the other suites run beside it.
import { Agent, get } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Child } from './child.js'
import { IngestServer } from './ingest-server.js'

const ROOT = join(import.meta.dirname, '..', '..')
const HEALTHY_MS = 6_000
const DOWN_MS = 22_000
const SLOW_MS = 36_000
const MB = 1024 * 1024

let ingest: IngestServer
let child: Child

beforeAll(async () => {
  ingest = await IngestServer.start()
})
afterAll(async () => {
  // Down first: the uploads still held by the slow server fail at once instead of at their timeout.
  await ingest.close()
  await child?.finish()
})

interface Stats {
  served: number
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

/** Steady load: `connections` loops, each sending the next request `pauseMs` after the last answer. */
function load(url: string, connections: number, pauseMs: number): { count: () => number; stop: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  let done = 0
  let stopped = false
  const loop = (): void => {
    if (stopped) return
    get(`${url}/work`, { agent }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode === 200) done++
        setTimeout(loop, pauseMs)
      })
    }).on('error', () => setTimeout(loop, pauseMs))
  }
  for (let i = 0; i < connections; i++) loop()
  return {
    count: () => done,
    stop: () => {
      stopped = true
      agent.destroy()
    },
  }
}

async function stats(app: string): Promise<Stats> {
  return (await (await fetch(`${app}/stats`)).json()) as Stats
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('a Pyroscope that is down, then slow', () => {
  it(
    "over a minute of load, leaves the app's request rate and memory flat, bounds the uploads and rate-limits the warnings",
    { timeout: 120_000 },
    async () => {
      child = new Child(
        ['--expose-gc', join('test', 'pyroscope', 'fixtures', 'service.mjs')],
        {
          SERVICE_OPTIONS: JSON.stringify({ pyroscope: { serverAddress: ingest.url, appName: 'under-load', flushIntervalMs: 1000 } }),
        },
        ROOT,
      )
      const ready = await child.waitFor((l) => l.type === 'ready', 'ready')
      const app = String(ready.app)
      const traffic = load(app, 4, 10)
      const rate = async (ms: number): Promise<number> => {
        const before = traffic.count()
        const started = performance.now()
        await sleep(ms)
        return ((traffic.count() - before) * 1000) / (performance.now() - started)
      }

      // Healthy: profiles arrive; the baseline rate.
      await ingest.next((u) => u.kind === 'wall' && u.status === 200)
      const healthy = await rate(HEALTHY_MS)
      const uploadsHealthy = ingest.uploads.length

      // Down: the port refuses connections.
      await ingest.down()
      await sleep(2000)
      const memStart = await stats(app)
      const down = await rate(DOWN_MS - 2000)
      const memDown = await stats(app)

      // Slow: back on the same port, answering every upload after 30 s.
      ingest.mode = { kind: 'slow', delayMs: 30_000 }
      ingest.maxConcurrent = 0
      await ingest.up()
      const slow = await rate(SLOW_MS)
      const memEnd = await stats(app)
      traffic.stop()

      const metrics = await (await fetch(`${String(ready.debug)}/metrics`)).text()
      const total = (profile: string, outcome: string): number =>
        Number(new RegExp(`^oomkit_profile_uploads_total\\{profile="${profile}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN)
      const warnings = child.lines.filter((l) => l.level === 40 && typeof l.outcome === 'string')
      const perKey = new Map<string, number>()
      for (const w of warnings) perKey.set(`${String(w.profile)}:${String(w.outcome)}`, (perKey.get(`${String(w.profile)}:${String(w.outcome)}`) ?? 0) + 1)
      const summary = {
        reqPerSec: { healthy: Math.round(healthy), down: Math.round(down), slow: Math.round(slow) },
        heapUsedMB: [memStart, memDown, memEnd].map((m) => +(m.heapUsed / MB).toFixed(1)),
        rssMB: [memStart, memDown, memEnd].map((m) => +(m.rss / MB).toFixed(1)),
        offHeapMB: [memStart, memDown, memEnd].map((m) => +((m.external + m.arrayBuffers) / MB).toFixed(1)),
        uploads: Object.fromEntries(['heap', 'wall'].flatMap((p) => ['ok', 'error', 'timeout', 'dropped'].map((o) => [`${p}:${o}`, total(p, o)]))),
        warnings: Object.fromEntries(perKey),
        maxConcurrentWhileSlow: ingest.maxConcurrent,
      }
      console.log(`slow-server: ${JSON.stringify(summary)}`)

      // The app: its rate never fell with Pyroscope's (a blocked event loop would take it to ~0).
      expect(healthy).toBeGreaterThan(50)
      expect(down / healthy).toBeGreaterThan(0.5)
      expect(slow / healthy).toBeGreaterThan(0.5)
      // Its memory: flat across a minute of failing uploads (one profile per kind at most in flight).
      expect(memEnd.heapUsed - memStart.heapUsed).toBeLessThan(8 * MB)
      expect(memEnd.external + memEnd.arrayBuffers - (memStart.external + memStart.arrayBuffers)).toBeLessThan(8 * MB)
      expect(memEnd.rss - memStart.rss).toBeLessThan(48 * MB)
      // The uploads: healthy ones went through, then every one failed and was counted: refused
      // connections while down; while slow, each abandoned at the 10 s timeout, the rest dropped.
      expect(uploadsHealthy).toBeGreaterThan(0)
      for (const p of ['heap', 'wall']) {
        expect(total(p, 'ok'), `${p} ok`).toBeGreaterThan(0)
        expect(total(p, 'error'), `${p} error`).toBeGreaterThanOrEqual(10)
        expect(total(p, 'timeout'), `${p} timeout`).toBeGreaterThanOrEqual(2)
        expect(total(p, 'dropped'), `${p} dropped`).toBeGreaterThanOrEqual(15)
      }
      expect(ingest.maxConcurrent).toBeLessThanOrEqual(2)
      // The warnings: at most one a minute per profile and outcome, over ~58 s of failures.
      for (const [key, n] of perKey) expect(n, key).toBeLessThanOrEqual(2)
      expect(warnings.length).toBeLessThanOrEqual(12)
      expect([...perKey.keys()].sort()).toEqual(
        expect.arrayContaining(['heap:error', 'wall:error', 'heap:timeout', 'wall:timeout', 'heap:dropped', 'wall:dropped']),
      )
    },
  )
})

// The profiler as the kit runs it: on by default, in the report, on the kit's own server,
// `heapProfile: false`, and nothing left behind by stop().
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../../src/index.js'
import { loadDatadogHeap } from '../../../src/heap/profile/index.js'
import { isV8SamplerRunning } from '../../../src/heap/profile/index.js'
import { ALLOC_SITE_FILE, ALLOC_SITE_FUNCTION, allocSiteRange, loadAllocSite } from '../../fixtures/alloc-helpers.js'
import { internals } from '../../../src/internal.js'

const site = loadAllocSite()
const kits: Oomkit[] = []
const expectedBackend = loadDatadogHeap() === null ? 'inspector' : 'datadog'

function kit(options: Parameters<typeof createOomkit>[0] = {}): Oomkit {
  const k = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0, defaultMetrics: false, snapshot: false, ...options })
  kits.push(k)
  return k
}

afterEach(async () => {
  for (const k of kits.splice(0)) await k.stop()
  site.releaseAllocations()
})

describe("the kit's heap profiler", () => {
  it('runs by default at 512 KiB and puts backend, interval and the top 10 sites in the report', () => {
    const k = kit().start()
    site.leakyAllocationSite(20)
    const profile = k.report().profile
    expect(profile).toMatchObject({ backend: expectedBackend, intervalBytes: 524288, shared: false, error: null })
    expect(profile!.forcesGcPerFetch).toBe(expectedBackend === 'inspector')
    expect(profile!.topSites.length).toBeGreaterThan(0)
    expect(profile!.topSites.length).toBeLessThanOrEqual(10)
    const { start, end } = allocSiteRange()
    expect(profile!.topSites[0]).toMatchObject({ function: ALLOC_SITE_FUNCTION, file: ALLOC_SITE_FILE })
    expect(profile!.topSites[0]!.line).toBeGreaterThanOrEqual(start)
    expect(profile!.topSites[0]!.line).toBeLessThanOrEqual(end)
    expect(Date.parse(profile!.topSitesAt!)).not.toBeNaN()
    // The report is JSON: bytes are integers.
    for (const row of profile!.topSites) expect(Number.isInteger(row.bytes)).toBe(true)
  })

  it("serves both routes on the kit's own server, and GET /debug/memory has the profile section", async () => {
    const k = kit().start()
    expect(internals(k).routes.map((r) => r.path)).toEqual(expect.arrayContaining(['/debug/pprof/heap', '/debug/memory/top']))
    const { url } = await k.listen({ port: 0 })
    site.leakyAllocationSite(10)
    const heap = await fetch(`${url}/debug/pprof/heap`)
    expect(heap.status).toBe(200)
    expect((await heap.arrayBuffer()).byteLength).toBeGreaterThan(100)
    const top = (await (await fetch(`${url}/debug/memory/top?limit=3`)).json()) as { function: string }[]
    expect(top[0]!.function).toBe(ALLOC_SITE_FUNCTION)
    const report = (await (await fetch(`${url}/debug/memory`)).json()) as { profile: { backend: string } }
    expect(report.profile.backend).toBe(expectedBackend)
  })

  it('stop() leaves no sampler behind, and a second kit starts its own after', async () => {
    const first = kit().start()
    expect(isV8SamplerRunning()).toBe(true)
    await first.stop()
    expect(isV8SamplerRunning()).toBe(false)
    const second = kit().start()
    expect(second.report().profile).toMatchObject({ backend: expectedBackend, shared: false })
    await second.stop()
    expect(isV8SamplerRunning()).toBe(false)
  })

  it('two kits at once share one sampler; it ends with the last one', async () => {
    const a = kit().start()
    const b = kit({ heapProfile: { intervalBytes: 65536 } }).start()
    expect(b.report().profile).toMatchObject({ shared: true, intervalBytes: 524288 })
    await a.stop()
    site.leakyAllocationSite(5)
    expect(b.report().profile!.topSites.length).toBeGreaterThan(0)
    await b.stop()
    expect(isV8SamplerRunning()).toBe(false)
  })

  it('heapProfile: false starts no sampler, reports null, and the routes answer OOMKIT_PROFILER_OFF', async () => {
    const k = kit({ heapProfile: false }).start()
    expect(isV8SamplerRunning()).toBe(false)
    expect(k.report().profile).toBeNull()
    const { url } = await k.listen({ port: 0 })
    for (const path of ['/debug/pprof/heap', '/debug/memory/top']) {
      const res = await fetch(url + path)
      expect(res.status, path).toBe(404)
      const body = (await res.json()) as { error: string; message: string }
      expect(body.error).toBe('OOMKIT_PROFILER_OFF')
      expect(body.message).toMatch(/heapProfile/)
      expect(body.message).toMatch(/OOMKIT_HEAP_PROFILE=on/)
    }
    // Validation still comes first.
    const bad = await fetch(`${url}/debug/memory/top?limit=0`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'limit' })
  })

  it('before start() the routes say the profiler is not running, and how to start it', async () => {
    const k = kit()
    const { url } = await k.listen({ port: 0 })
    const res = await fetch(`${url}/debug/pprof/heap`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: 'OOMKIT_PROFILER_OFF', message: expect.stringContaining('kit.start()') as string })
    expect(k.report().profile).toMatchObject({ error: 'the heap profiler is not running', topSites: [] })
  })
})

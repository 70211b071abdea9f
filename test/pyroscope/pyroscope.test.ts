// Pyroscope as the kit runs it, against a real ingest server on 127.0.0.1: the heap profile comes
// from oomkit's one V8 heap sampler and the wall profile from @pyroscope/nodejs, both arrive in
// Pyroscope's upload protocol with the pod's tags, and oomkit's own profile routes keep working
// from the same sampler, whatever Pyroscope does. Both packages are installed as npm lays them
// out: @pyroscope/nodejs with its pinned @datadog/pprof 5.14 nested under it (layout.test.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Oomkit } from '../../src/index.js'
import { isV8SamplerRunning, profileString } from '../../src/heap/profile/index.js'
import { ALLOC_SITE_FILE, ALLOC_SITE_FUNCTION, decodeGzippedProfile, loadAllocSite } from '../fixtures/alloc-helpers.js'
import { activeResources, leakedResources } from '../helpers/http.js'
import { IngestServer } from './ingest-server.js'
import { OOMKIT_PPROF, PYROSCOPE_PPROF, frames, heapEnabled, pyroscopeKit, uploadsTotal } from './helpers.js'

const site = loadAllocSite()
const kits: Oomkit[] = []
let ingest: IngestServer

beforeAll(async () => {
  ingest = await IngestServer.start()
})
afterAll(async () => {
  await ingest.close()
})
afterEach(async () => {
  for (const k of kits.splice(0)) await k.stop()
  site.releaseAllocations()
  ingest.uploads.length = 0
  ingest.mode = { kind: 'ok' }
  vi.unstubAllEnvs()
  expect(heapEnabled(PYROSCOPE_PPROF), "Pyroscope's @datadog/pprof copy never drives V8's heap sampler").toBe(false)
})

const base = (extra: object = {}): object => ({ serverAddress: ingest.url, appName: 'checkout', flushIntervalMs: 1000, ...extra })

describe('profiles to Pyroscope', () => {
  it("uploads the heap profile (with the function the service allocates in) and the wall profile, in Pyroscope's protocol, with the pod's tags and auth", async () => {
    vi.stubEnv('HOSTNAME', 'checkout-7d9f-x2')
    vi.stubEnv('POD_NAMESPACE', 'shop')
    vi.stubEnv('POD_NAME', 'checkout-7d9f-x2')
    const { kit } = pyroscopeKit(
      { pyroscope: base({ tags: { region: 'eu-1', build: 42 }, basicAuthUser: '123456', basicAuthPassword: 'glc_secret', tenantID: 'team-a' }) },
      kits,
    )
    kit.start()
    site.leakyAllocationSite(20)

    const heap = await ingest.next((u) => u.kind === 'heap')
    const wall = await ingest.next((u) => u.kind === 'wall')
    for (const u of [heap, wall]) {
      expect(u.status).toBe(200)
      expect(u.appName).toBe('checkout')
      expect(u.tags).toEqual({
        hostname: 'checkout-7d9f-x2',
        namespace: 'shop',
        pod: 'checkout-7d9f-x2',
        service_name: 'checkout',
        region: 'eu-1',
        build: '42',
      })
      expect(u.query).toMatchObject({ format: 'pprof', spyName: 'nodespy' })
      expect(Number(u.query.from)).toBeLessThanOrEqual(Number(u.query.until))
      expect(u.headers.authorization).toBe(`Basic ${Buffer.from('123456:glc_secret').toString('base64')}`)
      expect(u.headers['x-scope-orgid']).toBe('team-a')
      expect(u.headers['content-type']).toBe('application/octet-stream')
      expect(u.gzipped).toBe(true)
    }
    // The heap profile: inuse types, oomkit's interval, and the allocating function (named as
    // @pyroscope/nodejs names frames: ./file:function:line).
    const hp = heap.profile!
    expect(hp.sampleType.map((t) => profileString(hp, t.type))).toEqual(['inuse_objects', 'inuse_space'])
    expect(Number(hp.period)).toBe(524_288)
    const allocating = frames(hp).filter((f) => f.function.includes(ALLOC_SITE_FUNCTION))
    expect(allocating.length).toBeGreaterThan(0)
    expect(allocating[0]!.file).toBe(ALLOC_SITE_FILE)
    expect(allocating.reduce((s, f) => s + f.value, 0)).toBeGreaterThan(8_000_000)
    // The wall profile: what @pyroscope/nodejs's wall profiler records, at its default 100 Hz.
    const wp = wall.profile!
    expect(wp.sampleType.map((t) => profileString(wp, t.type))).toEqual(['samples', 'wall']) // @pyroscope/nodejs renames V8's 'sample' to pprof's 'samples'
    expect(wall.query.sampleRate).toMatch(/^\d+$/)
    expect(wp.sample.length).toBeGreaterThan(0)
  })

  it('keeps /debug/pprof/heap and /debug/memory/top working from the same sampler: one owner, one interval', async () => {
    const { kit } = pyroscopeKit({ pyroscope: base() }, kits)
    kit.start()
    const report = kit.report()
    // oomkit's heap profile started V8's sampler; Pyroscope's heap profile joined it.
    expect(report.profile).toMatchObject({ backend: 'datadog', shared: false, intervalBytes: 524_288 })
    expect(report.pyroscope).toMatchObject({ running: true, profiles: ['heap', 'wall'], heap: { backend: 'datadog', intervalBytes: 524_288, shared: true } })
    expect(heapEnabled(OOMKIT_PPROF)).toBe(true)
    expect(PYROSCOPE_PPROF.time.isStarted()).toBe(true)

    const { url } = await kit.listen({ port: 0 })
    site.leakyAllocationSite(20)
    const uploaded = await ingest.next((u) => u.kind === 'heap' && frames(u.profile!).some((f) => f.function.includes(ALLOC_SITE_FUNCTION)))
    const served = decodeGzippedProfile(await (await fetch(`${url}/debug/pprof/heap`)).arrayBuffer())
    expect(frames(served).some((f) => f.function === ALLOC_SITE_FUNCTION && f.file === ALLOC_SITE_FILE)).toBe(true)
    expect(Number(served.period)).toBe(Number(uploaded.profile!.period))
    const top = (await (await fetch(`${url}/debug/memory/top?limit=3`)).json()) as { function: string }[]
    expect(top[0]!.function).toBe(ALLOC_SITE_FUNCTION)
  })

  it("pyroscope.heap: false sends wall profiles only and leaves oomkit's heap profile running", async () => {
    const { kit } = pyroscopeKit({ pyroscope: base({ heap: false }) }, kits)
    kit.start()
    expect(kit.report().pyroscope).toMatchObject({ profiles: ['wall'], heap: null })
    await ingest.next((u) => u.kind === 'wall')
    await ingest.next((u) => u.kind === 'wall', 15_000, ingest.uploads.length)
    expect(ingest.uploads.filter((u) => u.kind === 'heap')).toEqual([])
    site.leakyAllocationSite(10)
    expect(kit.report().profile!.topSites[0]!.function).toBe(ALLOC_SITE_FUNCTION)
  })

  it("stopping Pyroscope leaves oomkit's profile running and reading samples at its interval", async () => {
    const owner = pyroscopeKit({ heapProfile: { intervalBytes: 262_144 } }, kits).kit.start()
    const { kit: withPyroscope } = pyroscopeKit({ heapProfile: false, pyroscope: base() }, kits)
    withPyroscope.start()
    // Pyroscope's heap profile joined the sampler oomkit's profile holds, at that interval.
    expect(withPyroscope.report().pyroscope!.heap).toEqual({ backend: 'datadog', intervalBytes: 262_144, shared: true })
    site.leakyAllocationSite(10)
    expect(Number((await ingest.next((u) => u.kind === 'heap')).profile!.period)).toBe(262_144)

    await withPyroscope.stop()
    expect(PYROSCOPE_PPROF.time.isStarted()).toBe(false)
    expect(isV8SamplerRunning()).toBe(true)
    site.releaseAllocations()
    site.leakyAllocationSite(10)
    expect(owner.report().profile).toMatchObject({ intervalBytes: 262_144, error: null })
    expect(owner.report().profile!.topSites[0]!.function).toBe(ALLOC_SITE_FUNCTION)
  })

  it("with heapProfile: false Pyroscope's heap profile owns the sampler, and its stop ends it", async () => {
    const { kit } = pyroscopeKit({ heapProfile: false, pyroscope: base() }, kits)
    kit.start()
    expect(kit.report().pyroscope!.heap).toEqual({ backend: 'datadog', intervalBytes: 524_288, shared: false })
    site.leakyAllocationSite(10)
    const heap = await ingest.next((u) => u.kind === 'heap')
    expect(frames(heap.profile!).some((f) => f.function.includes(ALLOC_SITE_FUNCTION))).toBe(true)
    await kit.stop()
    expect(isV8SamplerRunning()).toBe(false)
  })

  it('kit.stop() sends the last heap and wall profiles, stops the wall profiler and leaves nothing running', async () => {
    const before = activeResources()
    const { kit } = pyroscopeKit({ pyroscope: base({ flushIntervalMs: 3_600_000 }) }, kits)
    kit.start()
    site.leakyAllocationSite(10)
    const startedAt = Math.floor(Date.now() / 1000)
    await new Promise((r) => setTimeout(r, 200))
    expect(ingest.uploads).toEqual([])
    await kit.stop()
    // The stop waited for them: they are here already.
    expect(ingest.uploads.map((u) => u.kind).sort()).toEqual(['heap', 'wall'])
    for (const u of ingest.uploads) expect(Number(u.query.from)).toBeGreaterThanOrEqual(startedAt - 1)
    expect(frames(ingest.uploads.find((u) => u.kind === 'heap')!.profile!).some((f) => f.function.includes(ALLOC_SITE_FUNCTION))).toBe(true)
    expect(PYROSCOPE_PPROF.time.isStarted()).toBe(false)
    expect(isV8SamplerRunning()).toBe(false)
    expect(kit.report().pyroscope).toMatchObject({ running: false, uploads: { heap: { ok: 1 }, wall: { ok: 1 } } })
    expect(await leakedResources(before)).toEqual([])
  })

  it('kit.stop() against a Pyroscope that hangs waits at most uploadTimeoutMs, counts the timeouts and leaves nothing open', async () => {
    const before = activeResources()
    ingest.mode = { kind: 'slow', delayMs: 30_000 }
    const { kit, lines } = pyroscopeKit({ pyroscope: base({ flushIntervalMs: 3_600_000, uploadTimeoutMs: 300 }) }, kits)
    kit.start()
    await kit.stop()
    expect(kit.report().pyroscope!.uploads).toMatchObject({ heap: { timeout: 1 }, wall: { timeout: 1 } })
    expect(
      lines
        .filter((l) => l.outcome === 'timeout')
        .map((l) => l.profile)
        .sort(),
    ).toEqual(['heap', 'wall'])
    expect(PYROSCOPE_PPROF.time.isStarted()).toBe(false)
    expect(await leakedResources(before)).toEqual([])
  })

  it("refuses to start when Pyroscope's wall profiler already runs (Pyroscope.start() outside oomkit)", async () => {
    const Pyroscope = (await import('@pyroscope/nodejs')).default
    Pyroscope.init({ serverAddress: ingest.url, appName: 'own-setup' })
    Pyroscope.startWallProfiling()
    try {
      const { kit, lines } = pyroscopeKit({ pyroscope: base() }, kits)
      kit.start()
      expect(lines).toContainEqual(
        expect.objectContaining({
          capability: 'pyroscope',
          err: expect.objectContaining({ code: 'OOMKIT_PYROSCOPE_UNAVAILABLE', message: expect.stringContaining('already running') as string }),
        }),
      )
      expect(kit.report().pyroscope!.running).toBe(false)
      // It left the sampler to oomkit's heap profile alone.
      expect(kit.report().profile!.shared).toBe(false)
    } finally {
      await Pyroscope.stopWallProfiling()
    }
  })

  it('counts every upload in oomkit_profile_uploads_total{profile,outcome}, refusals too', async () => {
    const { kit, registry, lines } = pyroscopeKit({ pyroscope: base() }, kits)
    kit.start()
    for (const outcome of ['ok', 'rejected', 'error', 'timeout', 'dropped']) {
      expect(await uploadsTotal(registry, 'heap', outcome), outcome).toBeDefined()
    }
    await ingest.next((u) => u.kind === 'heap' && u.status === 200)
    await new Promise((r) => setTimeout(r, 100))
    expect(await uploadsTotal(registry, 'heap', 'ok')).toBeGreaterThanOrEqual(1)
    ingest.mode = { kind: 'status', status: 503 }
    const seen = ingest.uploads.length
    await ingest.next((u) => u.status === 503 && u.kind === 'wall', 15_000, seen)
    await ingest.next((u) => u.status === 503 && u.kind === 'heap', 15_000, seen)
    await new Promise((r) => setTimeout(r, 100))
    expect(await uploadsTotal(registry, 'wall', 'rejected')).toBeGreaterThanOrEqual(1)
    expect(kit.report().pyroscope!.lastUpload.wall).toMatchObject({ status: 503 })
    const warning = lines.find((l) => l.outcome === 'rejected' && l.profile === 'wall')
    expect(warning).toMatchObject({ level: 40, status: 503, msg: expect.stringContaining('Pyroscope refused a wall profile: HTTP 503') as string })
    // The credentials never reach a log line.
    expect(JSON.stringify(lines)).not.toContain('Basic ')
  })

  it('a second instance in the process refuses with OOMKIT_PYROSCOPE_UNAVAILABLE; the first runs on', async () => {
    const first = pyroscopeKit({ pyroscope: base() }, kits).kit.start()
    const second = pyroscopeKit({ pyroscope: base() }, kits)
    second.kit.start()
    expect(second.kit.running).toBe(true)
    expect(second.lines).toContainEqual(
      expect.objectContaining({ capability: 'pyroscope', err: expect.objectContaining({ code: 'OOMKIT_PYROSCOPE_UNAVAILABLE' }) }),
    )
    expect(second.kit.report().pyroscope).toMatchObject({ running: false, error: expect.stringContaining('another oomkit instance') as string })
    expect(first.report().pyroscope!.running).toBe(true)
  })

  it('is off by default: no section, no series, nothing loaded or started', async () => {
    const { kit, registry } = pyroscopeKit({}, kits)
    kit.start()
    expect(kit.report().pyroscope).toBeNull()
    const text = await registry.metrics()
    expect(text).toContain('# TYPE oomkit_profile_uploads_total counter')
    expect(text).not.toMatch(/^oomkit_profile_uploads_total\{/m)
    expect(PYROSCOPE_PPROF.time.isStarted()).toBe(false)
  })
})

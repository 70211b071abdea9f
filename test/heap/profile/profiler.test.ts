// The sampling heap profiler with each backend, for real: V8 samples the fixture's allocations,
// the profile is decoded with pprof-format, and the sampler is really gone after stop().
import { createRequire } from 'node:module'
import { Profile } from 'pprof-format'
import { afterEach, describe, expect, it } from 'vitest'
import { HEAP_SAMPLE_TYPES, profileString } from '../../../src/heap/profile/index.js'
import { HeapProfiler, type HeapProfilerBackend } from '../../../src/heap/profile/index.js'
import { loadDatadogHeap } from '../../../src/heap/profile/index.js'
import { isV8SamplerRunning, loadInspector } from '../../../src/heap/profile/index.js'
import { ALLOC_SITE_FILE, ALLOC_SITE_FUNCTION, allocSiteRange, bytesByFrame, loadAllocSite } from '../../fixtures/alloc-helpers.js'
import { requireOrSkip } from '../../helpers/require.js'

const MB = 1_000_000
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
const site = loadAllocSite()
const started: HeapProfiler[] = []

function profiler(backend: 'auto' | HeapProfilerBackend, intervalBytes = 512 * 1024): HeapProfiler {
  const p = new HeapProfiler({ backend, intervalBytes })
  started.push(p)
  return p
}

afterEach(() => {
  for (const p of started.splice(0)) p.stop()
  site.releaseAllocations()
})

const hasDatadog = loadDatadogHeap() !== null
const backends: HeapProfilerBackend[] = []
if (requireOrSkip(hasDatadog, '@datadog/pprof (optional dependency) does not load here')) backends.push('datadog')
backends.push('inspector')

describe.each(backends)('HeapProfiler with the %s backend', (backend) => {
  it('samples live allocations with sample types, function, file and line', async () => {
    const p = profiler(backend).start()
    expect(p.backend).toBe(backend)
    expect(p.running).toBe(true)
    expect(p.intervalBytes).toBe(512 * 1024)
    site.leakyAllocationSite(20)
    gc()

    // Round trip through the wire format: what go tool pprof and Pyroscope get.
    const profile = Profile.decode((await p.profile()).encode())
    expect(profile.sampleType.map((t) => ({ type: profileString(profile, t.type), unit: profileString(profile, t.unit) }))).toEqual(HEAP_SAMPLE_TYPES)
    expect(profileString(profile, profile.periodType!.type)).toBe('inuse_space')
    expect(Number(profile.period)).toBe(512 * 1024)
    expect(profile.location.length).toBeGreaterThan(0)
    expect(profile.function.length).toBeGreaterThan(0)

    const { start, end } = allocSiteRange()
    const frame = bytesByFrame(profile).find((f) => f.function === ALLOC_SITE_FUNCTION)
    expect(frame, 'the fixture function is in the profile').toBeDefined()
    expect(frame!.file).toBe(ALLOC_SITE_FILE)
    expect(frame!.line).toBeGreaterThanOrEqual(start)
    expect(frame!.line).toBeLessThanOrEqual(end)
    // ~20 MB retained; sampling at 512 KiB is within tens of percent.
    expect(frame!.bytes).toBeGreaterThan(8 * MB)
    expect(frame!.bytes).toBeLessThan(200 * MB)
  })

  it('counts objects: inuse_objects is positive wherever inuse_space is', async () => {
    const p = profiler(backend).start()
    site.leakyAllocationSite(10)
    const profile = await p.profile()
    const withBytes = profile.sample.filter((s) => Number(s.value[1]) > 0)
    expect(withBytes.length).toBeGreaterThan(0)
    for (const s of withBytes) expect(Number(s.value[0])).toBeGreaterThan(0)
  })

  it('stop() is idempotent and leaves no sampler running; a new profiler can start after', async () => {
    const p = profiler(backend).start()
    expect(isV8SamplerRunning()).toBe(true)
    p.stop()
    p.stop()
    expect(p.running).toBe(false)
    expect(isV8SamplerRunning()).toBe(false)
    await expect(p.profile()).rejects.toMatchObject({ code: 'OOMKIT_PROFILER_OFF' })
    if (backend === 'datadog') expect(() => loadDatadogHeap()!.v8Profile()).toThrow(/not enabled/)

    const again = profiler(backend).start()
    site.leakyAllocationSite(5)
    expect((await again.profile()).sample.length).toBeGreaterThan(0)
    again.stop()
    expect(isV8SamplerRunning()).toBe(false)
  })
})

describe("one owner of V8's sampler per process", () => {
  it('a second profiler shares the running sampler, and only the last stop ends it', () => {
    const first = profiler('auto', 512 * 1024).start()
    const second = profiler('auto', 64 * 1024).start()
    expect(first.shared).toBe(false)
    expect(second.shared).toBe(true)
    expect(second.backend).toBe(first.backend)
    // V8 samples at the first starter's interval; the second reports the real one.
    expect(second.intervalBytes).toBe(512 * 1024)
    first.stop()
    expect(isV8SamplerRunning()).toBe(true)
    site.leakyAllocationSite(5)
    expect(second.readTree().children.length).toBeGreaterThan(0)
    second.stop()
    expect(isV8SamplerRunning()).toBe(false)
  })

  it('refuses a forced backend other than the one holding the sampler', () => {
    const other: HeapProfilerBackend = hasDatadog ? 'inspector' : 'datadog'
    profiler(hasDatadog ? 'datadog' : 'inspector').start()
    expect(() => profiler(other).start()).toThrow(expect.objectContaining({ code: 'OOMKIT_PROFILER_OFF' }) as Error)
  })

  it('adopts a sampler started outside oomkit (an inspector session) and never stops it', () => {
    const inspector = loadInspector()!
    const session = new inspector.Session()
    session.connect()
    session.post('HeapProfiler.startSampling', { samplingInterval: 256 * 1024 })
    try {
      const p = profiler('auto').start()
      expect(p.shared).toBe(true)
      expect(p.backend).toBe('inspector')
      site.leakyAllocationSite(5)
      expect(p.readTree().children.length).toBeGreaterThan(0)
      p.stop()
      expect(isV8SamplerRunning()).toBe(true)
    } finally {
      session.post('HeapProfiler.stopSampling')
      session.disconnect()
    }
    expect(isV8SamplerRunning()).toBe(false)
  })

  it.runIf(hasDatadog)('adopts @datadog/pprof started by someone else (e.g. Pyroscope) and leaves it running', () => {
    const heap = createRequire(import.meta.url)('@datadog/pprof').heap as { start(i: number, d: number): void; stop(): void }
    heap.start(128 * 1024, 32)
    try {
      const p = profiler('auto').start()
      expect(p.shared).toBe(true)
      expect(p.backend).toBe('datadog')
      p.stop()
      expect(isV8SamplerRunning()).toBe(true)
    } finally {
      heap.stop()
    }
    expect(isV8SamplerRunning()).toBe(false)
  })
})

describe('the report section', () => {
  it('with the inspector backend reuses a profile up to 30 s old (each read forces a full GC)', () => {
    let now = 1_000_000
    const p = new HeapProfiler({ backend: 'inspector', now: () => now })
    started.push(p)
    p.start()
    site.leakyAllocationSite(10)
    const first = p.reportSection()
    expect(first).toMatchObject({ backend: 'inspector', forcesGcPerFetch: true, error: null, topSitesAt: new Date(now).toISOString() })
    expect(first.topSites[0]!.function).toBe(ALLOC_SITE_FUNCTION)
    now += 29_000
    expect(p.reportSection().topSitesAt).toBe(first.topSitesAt)
    now += 2_000
    expect(p.reportSection().topSitesAt).toBe(new Date(now).toISOString())
  })

  it.runIf(hasDatadog)('with @datadog/pprof reads fresh every time (no GC)', () => {
    let now = 1_000_000
    const p = new HeapProfiler({ backend: 'datadog', now: () => now })
    started.push(p)
    p.start()
    const first = p.reportSection()
    now += 1_000
    expect(p.reportSection().topSitesAt).not.toBe(first.topSitesAt)
    expect(first.forcesGcPerFetch).toBe(false)
  })
})

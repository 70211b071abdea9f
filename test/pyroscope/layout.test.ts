// Both packages as npm really installs them, and why oomkit must be the one owner of V8's heap
// sampler: @pyroscope/nodejs's pinned @datadog/pprof is a second native copy whose start is
// silently ignored by V8 and whose stop ends oomkit's profile. (With oomkit's capability it is
// never started: pyroscope.test.ts checks that after every test.)
import { execFileSync } from 'node:child_process'
import { Session } from 'node:inspector'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HeapProfiler, isV8SamplerRunning } from '../../src/heap/profile/index.js'
import { loadAllocSite } from '../fixtures/alloc-helpers.js'
import { IngestServer } from './ingest-server.js'
import { OOMKIT_PPROF, PYROSCOPE_ENTRY, PYROSCOPE_PPROF, heapEnabled } from './helpers.js'

const ROOT = join(import.meta.dirname, '..', '..')
const site = loadAllocSite()
let ingest: IngestServer

beforeAll(async () => {
  ingest = await IngestServer.start()
})
afterAll(async () => {
  await ingest.close()
})

interface NpmTree {
  dependencies?: Record<string, { version: string; dependencies?: NpmTree['dependencies'] }>
}

/** How many samples V8's sampler holds now: the inspector lists each one (this read forces a GC). */
function liveSamples(): number {
  const session = new Session()
  session.connect()
  try {
    let count = -1
    session.post('HeapProfiler.getSamplingProfile', (err, answer) => {
      if (err === null) count = (answer as unknown as { profile: { samples: unknown[] } }).profile.samples.length
    })
    return count
  } finally {
    session.disconnect()
  }
}

describe('the npm layout', () => {
  it("puts oomkit's @datadog/pprof at the top and @pyroscope/nodejs's pinned 5.14 under it: two native copies", () => {
    const tree = JSON.parse(execFileSync('npm', ['ls', '@datadog/pprof', '--json'], { cwd: ROOT, encoding: 'utf8' })) as NpmTree
    const top = tree.dependencies?.['@datadog/pprof']?.version
    const nested = tree.dependencies?.['@pyroscope/nodejs']?.dependencies?.['@datadog/pprof']?.version
    expect(top).toMatch(/^5\.(2\d|[3-9]\d)\./)
    expect(nested).toMatch(/^5\.14\./)
    expect(OOMKIT_PPROF.path).toBe(join(ROOT, 'node_modules', '@datadog', 'pprof', 'out', 'src', 'index.js'))
    expect(PYROSCOPE_PPROF.path).toBe(join(ROOT, 'node_modules', '@pyroscope', 'nodejs', 'node_modules', '@datadog', 'pprof', 'out', 'src', 'index.js'))
    expect({ oomkit: OOMKIT_PPROF.version, pyroscope: PYROSCOPE_PPROF.version }).toEqual({ oomkit: top, pyroscope: nested })
    expect(OOMKIT_PPROF.heap).not.toBe(PYROSCOPE_PPROF.heap)
    expect(PYROSCOPE_ENTRY).toBe(join(ROOT, 'node_modules', '@pyroscope', 'nodejs', 'dist', 'cjs', 'index.js'))
  })
})

describe('two copies driving one V8 sampler (what oomkit avoids)', () => {
  it("Pyroscope's own heap profiler, started beside oomkit's, is silently held at oomkit's interval, and its stop ends oomkit's profile", async () => {
    const oomkit = new HeapProfiler({ backend: 'datadog', intervalBytes: 512 * 1024 }).start()
    try {
      expect(oomkit.shared).toBe(false)
      // @pyroscope/nodejs's documented API, as an app would call it.
      const Pyroscope = (await import('@pyroscope/nodejs')).default
      Pyroscope.init({ serverAddress: ingest.url, appName: 'hazard', heap: { samplingIntervalBytes: 16 * 1024 } })
      Pyroscope.startHeapProfiling()
      // Its copy believes it started the sampler at 16 KiB; no error anywhere.
      expect(heapEnabled(PYROSCOPE_PPROF)).toBe(true)
      site.leakyAllocationSite(20)
      // ~20 MB at 16 KiB would be ~1,200 samples; V8 kept sampling every 512 KiB (~40).
      const samples = liveSamples()
      expect(samples).toBeGreaterThan(10)
      expect(samples).toBeLessThan(300)

      await Pyroscope.stopHeapProfiling()
      // Pyroscope's stop stopped V8's one sampler: oomkit's profile is gone, and nothing said so.
      expect(isV8SamplerRunning()).toBe(false)
      expect(oomkit.running).toBe(true)
      expect(() => oomkit.readTree()).toThrow()
    } finally {
      oomkit.stop()
      site.releaseAllocations()
    }
    expect(heapEnabled(OOMKIT_PPROF)).toBe(false)
  })
})

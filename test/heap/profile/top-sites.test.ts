// Top allocation sites: how internals fold into the user's frames (on hand-built trees), and
// GET /debug/memory/top on a real loopback server with each backend.
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { DebugServer } from '../../../src/http/index.js'
import { type AllocationNode, encodeHeapProfile } from '../../../src/heap/profile/index.js'
import { memoryTopRoute } from '../../../src/heap/profile/index.js'
import { HeapProfiler, type HeapProfilerBackend } from '../../../src/heap/profile/index.js'
import { loadDatadogHeap } from '../../../src/heap/profile/index.js'
import { INTERNALS_ROW, OOMKIT_DIRS, isInternalFrame, topSites } from '../../../src/heap/profile/index.js'
import { ALLOC_SITE_FILE, ALLOC_SITE_FUNCTION, allocSiteRange, loadAllocSite, serveRoutes } from '../../fixtures/alloc-helpers.js'
import { requireOrSkip } from '../../helpers/require.js'

let nextId = 1
function node(name: string, file: string, line: number, bytes: number, children: AllocationNode[] = []): AllocationNode {
  return { name, file, line, column: 1, scriptId: nextId++, bytes, objects: bytes / 10, children }
}

const OOMKIT_FILE = join(OOMKIT_DIRS[0]!, 'cache', 'lru.js')

describe('topSites folding', () => {
  const tree = node('(root)', '', 0, 0, [
    node('', '', 0, 0, [
      node('handleRequest', '/app/server.js', 10, 5, [
        node('parse', 'node:internal/deps/undici', 3, 100, [node('(V8 API)', '', 0, 7)]),
        node('set', OOMKIT_FILE, 40, 50),
        node('render', '/app/view.js', 2, 20),
      ]),
      node('runMain', 'node:internal/modules/run_main', 1, 30),
      node('(garbage collector)', '', 0, 3),
    ]),
  ])
  const profile = encodeHeapProfile(tree, { intervalBytes: 524288 })

  it('attributes each sample to the first user frame from the leaf, and sorts by bytes', () => {
    const rows = topSites(profile, 10)
    expect(rows.map((r) => [r.function, r.file, r.line, r.bytes])).toEqual([
      // its own 5, undici's 100 (and the V8 API frame below it), oomkit's 50
      ['handleRequest', '/app/server.js', 10, 5 + 100 + 7 + 50],
      // Node's module loader and the GC: no user frame on the stack
      [INTERNALS_ROW, '', 0, 30 + 3],
      ['render', '/app/view.js', 2, 20],
    ])
    for (const r of rows) expect(r.count).toBeGreaterThan(0)
  })

  it('keeps every byte: the rows add up to the profile', () => {
    const total = topSites(profile, 500).reduce((s, r) => s + r.bytes, 0)
    expect(total).toBe(5 + 100 + 7 + 50 + 20 + 30 + 3)
  })

  it('cuts at limit', () => {
    expect(topSites(profile, 1).map((r) => r.function)).toEqual(['handleRequest'])
  })

  it("treats oomkit frames as the user's when its directories are not given as its own", () => {
    const rows = topSites(profile, 10, { ownDirs: [] })
    expect(rows.find((r) => r.function === 'set')).toMatchObject({ file: OOMKIT_FILE, bytes: 50 })
  })

  it('knows internal frames', () => {
    expect(isInternalFrame('readFile', 'node:fs')).toBe(true)
    expect(isInternalFrame('x', 'internal/streams/readable.js')).toBe(true)
    expect(isInternalFrame('(program)', '')).toBe(true)
    expect(isInternalFrame('(anonymous)', '')).toBe(true)
    expect(isInternalFrame('report', join(OOMKIT_DIRS[0]!, 'kit.js'))).toBe(true)
    expect(isInternalFrame('handler', '/app/node_modules/express/lib/router.js')).toBe(false)
    expect(isInternalFrame('getAllocationProfile', '/app/node_modules/@datadog/pprof/out/src/heap-profiler-bindings.js')).toBe(true)
    expect(isInternalFrame('_encodeToBuffer', '/app/node_modules/pprof-format/dist/esm/index.js')).toBe(true)
    expect(isInternalFrame('(anonymous)', '/app/index.js')).toBe(false)
  })

  it("finds oomkit's own directory from its own URL (src here, dist/src when built)", () => {
    expect(OOMKIT_DIRS[0]).toBe(join(import.meta.dirname, '..', '..', '..', 'src') + '/')
  })
})

const hasDatadog = loadDatadogHeap() !== null
const backends: HeapProfilerBackend[] = []
if (requireOrSkip(hasDatadog, '@datadog/pprof (optional dependency) does not load here')) backends.push('datadog')
backends.push('inspector')
const site = loadAllocSite()

describe.each(backends)('GET /debug/memory/top with the %s backend', (backend) => {
  let profiler: HeapProfiler
  let server: DebugServer
  beforeAll(async () => {
    profiler = new HeapProfiler({ backend }).start()
    server = await serveRoutes([memoryTopRoute({ profiler: () => profiler })])
  })
  afterAll(async () => {
    await server.close()
    profiler.stop()
  })
  afterEach(() => site.releaseAllocations())

  it('lists the fixture function first, with its file and a line inside it', async () => {
    site.leakyAllocationSite(20)
    const res = await fetch(`${server.url}/debug/memory/top?limit=5`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const rows = (await res.json()) as { function: string; file: string; line: number; bytes: number; count: number }[]
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.length).toBeLessThanOrEqual(5)
    const { start, end } = allocSiteRange()
    expect(rows[0]).toMatchObject({ function: ALLOC_SITE_FUNCTION, file: ALLOC_SITE_FILE })
    expect(rows[0]!.line).toBeGreaterThanOrEqual(start)
    expect(rows[0]!.line).toBeLessThanOrEqual(end)
    expect(rows[0]!.bytes).toBeGreaterThan(8_000_000)
    expect(rows[0]!.count).toBeGreaterThan(0)
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.bytes).toBeLessThanOrEqual(rows[i - 1]!.bytes)
  })

  it('defaults to 20 rows at most', async () => {
    const rows = (await (await fetch(`${server.url}/debug/memory/top`)).json()) as unknown[]
    expect(rows.length).toBeLessThanOrEqual(20)
  })
})

describe('GET /debug/memory/top validation and off', () => {
  let server: DebugServer
  let profiler: HeapProfiler | null = null
  beforeAll(async () => {
    server = await serveRoutes([memoryTopRoute({ profiler: () => profiler })])
  })
  afterAll(async () => {
    await server.close()
  })

  it.each(['0', '501', '-1', '1.5', 'abc', '', '1e2'])('limit=%s is 400 naming limit', async (value) => {
    const res = await fetch(`${server.url}/debug/memory/top?limit=${value}`)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'limit' })
  })

  it('limit sent twice is 400 naming limit', async () => {
    const res = await fetch(`${server.url}/debug/memory/top?limit=5&limit=6`)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'limit' })
  })

  it('answers OOMKIT_PROFILER_OFF (404) saying how to turn it on when the profiler is off', async () => {
    profiler = null
    const res = await fetch(`${server.url}/debug/memory/top?limit=5`)
    expect(res.status).toBe(404)
    const body = (await res.json()) as { error: string; message: string }
    expect(body.error).toBe('OOMKIT_PROFILER_OFF')
    expect(body.message).toContain('OOMKIT_HEAP_PROFILE=on')
  })

  it('answers OOMKIT_PROFILER_OFF when the profiler exists but is not running', async () => {
    profiler = new HeapProfiler()
    const res = await fetch(`${server.url}/debug/memory/top`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: 'OOMKIT_PROFILER_OFF', message: expect.stringContaining('not running') as string })
  })
})

// pprof encoding, GET /debug/pprof/heap with each backend, and `go tool pprof` reading it from
// a running service built from dist/.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { Profile } from 'pprof-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHandler, startServer, type DebugServer } from '../../../src/http/index.js'
import { type AllocationNode, encodeHeapProfile, profileString } from '../../../src/heap/profile/index.js'
import { heapProfileRoutes } from '../../../src/heap/profile/index.js'
import { HeapProfiler, type HeapProfilerBackend } from '../../../src/heap/profile/index.js'
import { loadDatadogHeap } from '../../../src/heap/profile/index.js'
import { ALLOC_SITE_FILE, ALLOC_SITE_FUNCTION, allocSiteRange, bytesByFrame, decodeGzippedProfile, loadAllocSite } from '../../fixtures/alloc-helpers.js'
import { requireOrSkip } from '../../helpers/require.js'

const run = promisify(execFile)

function leaf(name: string, file: string, line: number, bytes: number, children: AllocationNode[] = [], scriptId = 1): AllocationNode {
  return { name, file, line, column: 3, scriptId, bytes, objects: Math.ceil(bytes / 32), children }
}

describe('encodeHeapProfile', () => {
  const tree = leaf('(root)', '', 0, 0, [leaf('main', '/app/main.js', 1, 0, [leaf('load', '/app/load.js', 7, 4096, [leaf('', '/app/load.js', 9, 64)], 2)])])

  it('writes sample types, period, default type and one sample per path holding bytes, leaf first', () => {
    const p = Profile.decode(encodeHeapProfile(tree, { intervalBytes: 1024, timeMs: 1_700_000_000_000 }).encode())
    const s = (i: number | bigint): string => profileString(p, i)
    expect(p.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`)).toEqual(['inuse_objects/count', 'inuse_space/bytes'])
    expect(`${s(p.periodType!.type)}/${s(p.periodType!.unit)}`).toBe('inuse_space/bytes')
    expect(s(p.defaultSampleType)).toBe('inuse_space')
    expect(Number(p.period)).toBe(1024)
    expect(BigInt(p.timeNanos)).toBe(1_700_000_000_000_000_000n)
    const stacks = p.sample.map((sample) => ({
      frames: sample.locationId.map((id) => {
        const line = p.location.find((l) => Number(l.id) === Number(id))!.line[0]!
        const fn = p.function.find((f) => Number(f.id) === Number(line.functionId))!
        return `${s(fn.name)}@${s(fn.filename)}:${Number(line.line)}`
      }),
      value: sample.value.map(Number),
    }))
    expect(stacks).toEqual(
      expect.arrayContaining([
        { frames: ['load@/app/load.js:7', 'main@/app/main.js:1'], value: [128, 4096] },
        { frames: ['(anonymous)@/app/load.js:9', 'load@/app/load.js:7', 'main@/app/main.js:1'], value: [2, 64] },
      ]),
    )
    expect(stacks).toHaveLength(2) // main holds nothing itself, (root) is left out
    expect(p.function.every((f) => Number(f.startLine) > 0)).toBe(true)
  })

  it('walks deep trees without recursion', () => {
    let deep = leaf('bottom', '/app/deep.js', 1, 100)
    for (let i = 0; i < 20_000; i++) deep = leaf(`f${i % 50}`, '/app/deep.js', 2 + (i % 50), 0, [deep])
    const p = encodeHeapProfile(leaf('(root)', '', 0, 0, [deep]), { intervalBytes: 1024 })
    expect(p.sample).toHaveLength(1)
    expect(p.sample[0]!.locationId).toHaveLength(20_001)
    expect(p.location).toHaveLength(51)
  })
})

const hasDatadog = loadDatadogHeap() !== null
const backends: HeapProfilerBackend[] = []
if (requireOrSkip(hasDatadog, '@datadog/pprof (optional dependency) does not load here')) backends.push('datadog')
backends.push('inspector')
const site = loadAllocSite()

describe.each(backends)('GET /debug/pprof/heap with the %s backend', (backend) => {
  let profiler: HeapProfiler
  let server: DebugServer
  const audit: Record<string, unknown>[] = []
  beforeAll(async () => {
    profiler = new HeapProfiler({ backend }).start()
    const logger = pino({ level: 'info' }, { write: (line: string) => audit.push(JSON.parse(line) as Record<string, unknown>) })
    server = await startServer(
      createHandler({ routes: () => heapProfileRoutes({ profiler: () => profiler }), logger }, { loopbackListener: true }),
      0,
      '127.0.0.1',
      logger,
    )
    site.leakyAllocationSite(20)
  })
  afterAll(async () => {
    await server.close()
    profiler.stop()
    site.releaseAllocations()
  })

  it('answers a gzipped pprof profile naming the fixture function, file and line', async () => {
    const res = await fetch(`${server.url}/debug/pprof/heap`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="heap.pb.gz"')
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    const frame = bytesByFrame(decodeGzippedProfile(body)).find((f) => f.function === ALLOC_SITE_FUNCTION)
    const { start, end } = allocSiteRange()
    expect(frame).toMatchObject({ file: ALLOC_SITE_FILE })
    expect(frame!.line).toBeGreaterThanOrEqual(start)
    expect(frame!.line).toBeLessThanOrEqual(end)
    expect(frame!.bytes).toBeGreaterThan(8_000_000)
    await new Promise((r) => setTimeout(r, 20))
    expect(audit.find((l) => l.route === '/debug/pprof/heap' && l.method === 'GET')).toMatchObject({ backend, status: 200, outcome: 'ok' })
  })

  it('HEAD answers the headers without a body', async () => {
    const res = await fetch(`${server.url}/debug/pprof/heap`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toContain('heap.pb.gz')
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })
})

// go tool pprof against a real service: a child process running dist/ with kit.listen().
const GO = '/usr/bin/go'
const goReady = existsSync(GO) && (!existsSync('/tmp/apt-install.log') || readFileSync('/tmp/apt-install.log', 'utf8').trimEnd().endsWith('done'))
const distReady = existsSync(fileURLToPath(new URL('../../../dist/src/heap/profile/routes.js', import.meta.url)))

describe.runIf(
  requireOrSkip(goReady, 'go tool pprof needs Debian golang-go (/usr/bin/go)') &&
    requireOrSkip(distReady, 'dist/ is not built: run npx tsc -p tsconfig.build.json'),
)('go tool pprof reads /debug/pprof/heap', () => {
  let child: ChildProcessWithoutNullStreams
  let ready: { url: string; backend: string; intervalBytes: number }
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-pprof-'))
  beforeAll(async () => {
    child = spawn(process.execPath, [fileURLToPath(new URL('../../fixtures/alloc-service.mjs', import.meta.url)), '20'], { stdio: 'pipe' })
    const lines = createInterface({ input: child.stdout })
    ready = await new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`alloc-service exited with ${code}`)))
      lines.once('line', (line) => resolve(JSON.parse(line) as typeof ready))
    })
  })
  afterAll(async () => {
    child.stdin.write('exit\n')
    await new Promise((r) => child.once('exit', r))
    rmSync(scratch, { recursive: true, force: true })
  })

  it('lists the fixture function in the top rows, and /debug/memory/top names it with file and line', async () => {
    expect(ready.backend).toBe(hasDatadog ? 'datadog' : 'inspector')
    expect(ready.intervalBytes).toBe(524288)
    const env = { ...process.env, HOME: scratch, GOCACHE: join(scratch, 'gocache'), PPROF_TMPDIR: scratch, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }
    const { stdout } = await run(GO, ['tool', 'pprof', '-top', '-nodecount=10', '-sample_index=inuse_space', `${ready.url}/debug/pprof/heap`], {
      env,
      timeout: 60_000,
    })
    const rows = stdout.split('\n').filter((l) => /^\s*[\d.]+[kMG]?B\s/.test(l))
    expect(rows.length, stdout).toBeGreaterThan(0)
    expect(
      rows.slice(0, 3).some((r) => r.includes(ALLOC_SITE_FUNCTION)),
      stdout,
    ).toBe(true)
    expect(stdout).toMatch(/Type: inuse_space/)

    const top = (await (await fetch(`${ready.url}/debug/memory/top?limit=5`)).json()) as { function: string; file: string; line: number }[]
    const { start, end } = allocSiteRange()
    expect(top[0]).toMatchObject({ function: ALLOC_SITE_FUNCTION, file: ALLOC_SITE_FILE })
    expect(top[0]!.line).toBeGreaterThanOrEqual(start)
    expect(top[0]!.line).toBeLessThanOrEqual(end)
  }, 90_000)
})

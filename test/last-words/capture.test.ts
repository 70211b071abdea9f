import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import type { CapabilityContext, ReportSections } from '../../src/capability.js'
import type { HeapProfileService } from '../../src/heap/profile/index.js'
import { type CaptureDeps, LastWordsCapture, type LastWordsSites, type LastWordsSummary, REDACTED, capturePrefix } from '../../src/last-words/index.js'
import { MemoryCore } from '../../src/memory/core.js'
import type { CoreReport } from '../../src/memory/report.js'
import { fixture } from '../fixtures/cgroup/expected.js'
import { capture as captureLogger } from '../heap/snapshot/helpers.js'
import { filesIn, kindsIn, removeTemps, tempDir } from './helpers.js'

afterAll(removeTemps)

const LIMIT = 268435456
const INACTIVE = 25165824

/** A v2 cgroup fixture copy whose working set is `ratio` of its 256 MiB limit. */
function tree(ratio: number): { cgroupRoot: string; procRoot: string } {
  const root = join(tempDir('tree'), 'root')
  cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
  writeFileSync(join(root, 'sys/fs/cgroup/memory.current'), `${Math.round(LIMIT * ratio) + INACTIVE}\n`)
  return { cgroupRoot: join(root, 'sys/fs/cgroup'), procRoot: join(root, 'proc') }
}

/** A fake heap profile service: fixed sites, a tiny valid gzip for the profile, calls recorded. */
function heapProfile(calls: string[]): HeapProfileService {
  const site = { function: 'leakyHandler', file: '/app/server.js', line: 48, bytes: 9e6 }
  return {
    running: true,
    recordGrowth: async (at) => void calls.push(`record ${at}`),
    growingSites: (limit) => (calls.push(`growing ${limit}`), [{ ...site, growthBytesPerSecond: 4e6 }]),
    growthWindowSeconds: 30,
    topSites: async () => [{ ...site, count: 9 }],
    pprof: async () => (calls.push('pprof'), Buffer.from('1f8b08000000000000030300000000000000000000', 'hex')),
  }
}

interface Setup {
  readonly dir: string
  readonly lines: string[]
  readonly logged: ReturnType<typeof captureLogger>['lines']
  readonly capture: LastWordsCapture
  readonly calls: string[]
}

function setup(over: Partial<CaptureDeps> & { ratio?: number; dir?: string | null } = {}): Setup {
  const dir = over.dir === undefined ? tempDir('capture') : over.dir
  const core = new MemoryCore({ ...tree(over.ratio ?? 0.97), historySize: 10, heapRatio: 0.75 }, () => {})
  core.start()
  const { logger, lines: logged } = captureLogger()
  const lines: string[] = []
  const calls: string[] = []
  const report = (): CoreReport & ReportSections => ({
    ...core.report(),
    profile: null,
    snapshot: null,
    trend: null,
    caches: null,
    leaks: null,
    previousCrash: null,
    pyroscope: null,
  })
  const deps: CaptureDeps = {
    logger,
    memory: core as unknown as CapabilityContext<unknown>['memory'],
    report,
    shared: { heapProfile: heapProfile(calls) },
    maxCaptures: 3,
    bounds: { maxFiles: 20, maxBytes: 64 << 20 },
    run: { pid: process.pid, startedAt: 1 },
    oldSpaceFlagBytes: null,
    budget: { used: 0 },
    writeLine: (line) => {
      // The line goes out before any file: a SIGKILL right after must still leave it.
      lines.push(line)
      if (dir !== null) calls.push(`line with ${filesIn(dir).length} files`)
    },
    ...over,
  }
  return { dir: dir ?? '', lines, logged, calls, capture: new LastWordsCapture(deps, () => dir) }
}

describe('last words at a critical crossing', () => {
  it('writes the line first, then summary, report and Node report synchronously, 0600; then the sites and the profile', async () => {
    const s = setup()
    const result = s.capture.capture('critical')!
    expect(kindsIn(s.dir)).toEqual(['node-report', 'report', 'summary'])
    expect(result.files.map((f) => f.split(`-${process.pid}-`)[1])).toEqual(['summary.json', 'report.json', 'node-report.json'])
    const files = await result.done
    expect(kindsIn(s.dir)).toEqual(['heap', 'node-report', 'report', 'sites', 'summary'])
    expect(files).toHaveLength(5)
    for (const f of filesIn(s.dir)) expect(f.mode, f.name).toBe(0o600)
    expect(new Set(filesIn(s.dir).map((f) => capturePrefix(f.name))).size).toBe(1)
    // The line (with the growing sites known so far) before any file; the growing sites recorded
    // from a fresh profile before the sites file; the profile last.
    expect(s.calls).toEqual(['growing 10', 'line with 0 files', `record ${result.at}`, 'growing 20', 'pprof'])
    expect(gunzipSync(readFileSync(files.find((f) => f.endsWith('-heap.pb.gz'))!))).toHaveLength(0)
  })

  it('the line is one pino-shaped JSON line with the cause, the numbers and the top growing site', () => {
    const s = setup()
    s.capture.capture('critical')
    expect(s.lines).toHaveLength(1)
    expect(s.lines[0]!.endsWith('}\n')).toBe(true)
    const line = JSON.parse(s.lines[0]!) as Record<string, unknown>
    expect(line).toMatchObject({
      level: 50,
      pid: process.pid,
      name: 'oomkit',
      lastWords: true,
      trigger: 'critical',
      cause: 'container',
      workingSet: Math.round(LIMIT * 0.97),
      limit: LIMIT,
      oomKills: 1,
      growingSites: ['leakyHandler (/app/server.js:48)'],
      dir: s.dir,
      msg: `oomkit last words: working set 248.3 MiB of the 256.0 MiB container limit, growth unknown; files in ${s.dir}`,
    })
    expect(line.utilization).toBeCloseTo(0.97, 6)
    // At a critical crossing the core's flushed error line is the logger's line: no second one.
    expect(s.logged.filter((l) => l.level === 50)).toEqual([])
  })

  it('the summary has what the restart needs', () => {
    const s = setup()
    const r = s.capture.capture('critical')!
    const summary = JSON.parse(readFileSync(r.files[0]!, 'utf8')) as LastWordsSummary
    expect(summary).toMatchObject({
      kind: 'oomkit-last-words',
      version: 1,
      trigger: 'critical',
      cause: 'container',
      atMs: r.at,
      run: { pid: process.pid, startedAt: 1 },
      workingSetBytes: Math.round(LIMIT * 0.97),
      limitBytes: LIMIT,
      oomKills: 1,
      growth: { source: 'history' },
      growingSites: [{ function: 'leakyHandler', growthBytesPerSecond: 4e6 }],
      topSites: [],
    })
    expect(summary.heap.oldGenerationLimitBytes).toBe(summary.heap.heapSizeLimitBytes)
    expect(Object.keys(summary.files).sort()).toEqual(['heap', 'nodeReport', 'report', 'sites'])
  })

  it("redacts the environment's values in Node's report, but keeps NODE_OPTIONS", () => {
    process.env.OOMKIT_TEST_SECRET = 'hunter2-do-not-leak'
    const nodeOptions = process.env.NODE_OPTIONS
    process.env.NODE_OPTIONS = '--max-old-space-size=4096'
    try {
      const s = setup()
      const r = s.capture.capture('critical')!
      const text = readFileSync(r.files[2]!, 'utf8')
      expect(text).not.toContain('hunter2-do-not-leak')
      const report = JSON.parse(text) as { environmentVariables: Record<string, string>; header: { event: string } }
      expect(report.environmentVariables.OOMKIT_TEST_SECRET).toBe(REDACTED)
      expect(report.environmentVariables.NODE_OPTIONS).toBe('--max-old-space-size=4096')
      expect(report.header.event).toBe('JavaScript API')
    } finally {
      delete process.env.OOMKIT_TEST_SECRET
      if (nodeOptions === undefined) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = nodeOptions
    }
  })
})

describe('last words when the heap nears its limit', () => {
  it('logs the same fields at error through the logger, flushed, after the synchronous line', async () => {
    const s = setup({ ratio: 0.3 })
    const r = s.capture.capture('heap-near', { usedBytes: 90e6, limitBytes: 100e6, ratio: 0.9 })!
    const line = JSON.parse(s.lines[0]!) as Record<string, unknown>
    expect(line).toMatchObject({ trigger: 'heap-near', cause: 'heap', oldGenerationUsed: 90e6, oldGenerationLimit: 100e6 })
    expect(line.msg).toMatch(/^oomkit last words: V8 old generation 85\.8 MiB of its 95\.4 MiB limit, (growing|growth unknown)/)
    expect(s.logged.filter((l) => l.level === 50)).toEqual([expect.objectContaining({ lastWords: true, trigger: 'heap-near', msg: line.msg })])
    await r.done
    const sites = JSON.parse(readFileSync(join(s.dir, filesIn(s.dir).find((f) => f.name.endsWith('-sites.json'))!.name), 'utf8')) as LastWordsSites
    expect(sites).toMatchObject({ kind: 'oomkit-last-words-sites', windowSeconds: 30, growingSites: [{ function: 'leakyHandler' }], trend: null })
    expect(s.logged.at(-1)).toMatchObject({ level: 30, msg: 'oomkit last words written' })
  })
})

describe('bounds', () => {
  it('captures at most maxCaptures per budget, shared by every capture of the process', () => {
    const budget = { used: 0 }
    const a = setup({ maxCaptures: 2, budget })
    const b = setup({ maxCaptures: 2, budget })
    expect(a.capture.capture('critical')).not.toBeNull()
    expect(b.capture.capture('heap-near')).not.toBeNull()
    expect(a.capture.capture('critical')).toBeNull()
    expect(b.capture.available).toBe(false)
    expect(a.lines.length + b.lines.length).toBe(2)
  })

  it('keeps the directory within maxFiles, oldest capture removed first', async () => {
    const s = setup({ bounds: { maxFiles: 7, maxBytes: 64 << 20 } })
    const first = s.capture.capture('critical')!
    await first.done
    const second = s.capture.capture('critical')!
    await second.done
    expect(filesIn(s.dir)).toHaveLength(7)
    const prefixes = filesIn(s.dir).map((f) => capturePrefix(f.name))
    expect(prefixes.filter((p) => p === capturePrefix(first.files[0]!.slice(s.dir.length + 1)))).toHaveLength(2)
    expect(prefixes.filter((p) => p === capturePrefix(second.files[0]!.slice(s.dir.length + 1)))).toHaveLength(5)
  })
})

describe('failures never reach the app', () => {
  it('without a usable directory, the line is still written and says so', async () => {
    const s = setup({ dir: null })
    const r = s.capture.capture('critical')!
    expect(r.files).toEqual([])
    expect(await r.done).toEqual([])
    expect(JSON.parse(s.lines[0]!)).toMatchObject({ dir: null, msg: expect.stringMatching(/; no files \(the last-words directory is unusable\)$/) as unknown })
  })

  it('a report that throws, a logger that throws, a writer that throws, a profile that rejects: no throw, the rest written', async () => {
    const calls: string[] = []
    const s = setup({
      report: () => {
        throw new Error('report broke')
      },
      writeLine: () => {
        throw new Error('EPIPE')
      },
      shared: { heapProfile: { ...heapProfile(calls), pprof: () => Promise.reject(new Error('profile broke')) } },
    })
    const r = s.capture.capture('heap-near', { usedBytes: 1, limitBytes: 2, ratio: 0.5 })!
    expect(kindsIn(s.dir)).toEqual(['node-report', 'summary'])
    await r.done
    expect(kindsIn(s.dir)).toEqual(['node-report', 'sites', 'summary'])
  })
})

/**
 * The OOM drills, as root in real cgroup v1 memory cgroups (test/helpers/cgroup.ts): the leaky
 * service (test/fixtures/leaky-service.mjs, oomkit from dist/) in a 256 MiB cgroup leaking
 * ~4 MB/s from its start, five runs in parallel, each in its own cgroup.
 *
 * - Container: the kernel kills it (SIGKILL, exit 137; the cgroup's oom_kill count rises); the
 *   critical line and the last-words files are there; started again in the same cgroup with the
 *   same diagnosticsDir, it logs the previous crash with the leaking function named.
 * - Heap: the same with `--max-old-space-size=64`, so V8 fails first: "heap out of memory",
 *   SIGABRT (exit 134), Node's fatal-error report in diagnosticsDir, and the restart names the
 *   heap OOM and the leaking function.
 *
 * To extend: every run's pino lines (stdout) are in `run.service.lines`, its stderr in
 * `run.service.stderr`, the restart's in `run.restart`; add `it(...)` blocks reading
 * `container` and `heap` below. Set `env` in DRILLS (LOG_INTERVAL_MS, SAMPLE_INTERVAL_MS) when
 * an assertion needs more of the service's lines.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PreviousCrash } from '../../src/last-words/index.js'
import { MemoryCgroup, memoryCgroupsAvailable } from '../helpers/cgroup.js'
import { requireOrSkip } from '../helpers/require.js'
import { type ChildExit, type ChildRun, SERVICE, filesIn, kindsIn, removeTemps, startChild, tempDir } from './helpers.js'

const MiB = 1024 * 1024
const LIMIT = 256 * MiB
const RUNS = 5
/** Longest a leaking run may take to die; a run that outlives it fails the drill. */
const DIE_WITHIN_MS = 180_000

/** One run of a drill: its cgroup, its diagnosticsDir, the service and its restart. */
interface DrillRun {
  readonly index: number
  readonly cgroup: MemoryCgroup
  readonly diag: string
  readonly service: ChildRun
  readonly exit: ChildExit
  /** When the test saw the service die (epoch ms). */
  readonly diedAt: number
  readonly oomKillsBefore: number
  readonly oomKillsAfter: number
  /** The same service started again in the same cgroup and diagnosticsDir, in `restart` mode. */
  readonly restart: ChildRun
  readonly restartExit: ChildExit
}

/** How a drill runs the service. */
interface DrillSpec {
  readonly name: string
  readonly nodeArgs: readonly string[]
  readonly env: NodeJS.ProcessEnv
}

const DRILLS = {
  // The periodic memory line every second: the trend assertions read the forecast from it.
  container: { name: 'container', nodeArgs: [], env: { LEAK_MB_PER_S: '4', SAMPLE_INTERVAL_MS: '500', LOG_INTERVAL_MS: '1000' } },
  heap: { name: 'heap', nodeArgs: ['--max-old-space-size=64'], env: { LEAK_MB_PER_S: '4', SAMPLE_INTERVAL_MS: '500' } },
} satisfies Record<string, DrillSpec>

const cgroups: MemoryCgroup[] = []

function oomKills(cg: MemoryCgroup): number {
  const m = /^oom_kill (\d+)$/m.exec(cg.read('memory.oom_control'))
  return m === null ? 0 : Number(m[1])
}

async function untilExit(run: ChildRun, ms: number): Promise<ChildExit> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the service did not die within ${ms} ms; last lines: ${JSON.stringify(run.lines.slice(-3))}`)), ms)
  })
  try {
    return await Promise.race([run.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function runOnce(spec: DrillSpec, index: number): Promise<DrillRun> {
  const cgroup = MemoryCgroup.create(`oomkit-drill-${spec.name}`)
  cgroups.push(cgroup)
  cgroup.setLimit(LIMIT)
  const diag = tempDir(`drill-${spec.name}-${index}`)
  const env = { ...process.env, DIAG_DIR: diag, ...spec.env }
  const oomKillsBefore = oomKills(cgroup)
  const service = startChild(cgroup.spawnNode([...spec.nodeArgs, SERVICE], { env, nice: 10 }))
  const exit = await untilExit(service, DIE_WITHIN_MS)
  const diedAt = Date.now()
  const oomKillsAfter = oomKills(cgroup)
  const restart = startChild(cgroup.spawnNode([SERVICE], { env: { ...env, MODE: 'restart', LEAK_MB_PER_S: '0' }, nice: 10 }))
  const restartExit = await untilExit(restart, 30_000)
  return { index, cgroup, diag, service, exit, diedAt, oomKillsBefore, oomKillsAfter, restart, restartExit }
}

const available = memoryCgroupsAvailable()
let container: DrillRun[] = []
let heap: DrillRun[] = []

beforeAll(async () => {
  if (!available) return
  // Both drills at once, each run in its own cgroup: ten services on two cores, about a minute.
  const all = await Promise.all([
    ...Array.from({ length: RUNS }, (_, i) => runOnce(DRILLS.container, i)),
    ...Array.from({ length: RUNS }, (_, i) => runOnce(DRILLS.heap, i)),
  ])
  container = all.slice(0, RUNS)
  heap = all.slice(RUNS)
}, DIE_WITHIN_MS + 60_000)

afterAll(async () => {
  for (const cg of cgroups.splice(0)) await cg.remove()
  removeTemps()
})

const lastWordsDir = (r: DrillRun): string => join(r.diag, 'last-words')
const crashOf = (r: DrillRun): PreviousCrash | null => (r.restart.find('restart report')[0]?.previousCrash ?? null) as PreviousCrash | null
const label = (r: DrillRun): string => `run ${r.index}: exit ${JSON.stringify(r.exit)}, stderr ${r.service.stderr.slice(-1500)}`

describe.runIf(available)('the OOM drill: a leak in a 256 MiB cgroup, killed by the kernel', () => {
  it('the start line warns that the V8 heap limit exceeds the container limit, in 5 runs out of 5', () => {
    for (const r of container) {
      const budget = r.service.lines.filter((l) => l.verdict !== undefined)
      expect(budget[0], label(r)).toMatchObject({ level: 40, verdict: 'heap-limit-exceeds-container', limit: LIMIT })
      expect(budget[0]!.msg).toContain('exceeds the container limit 256 MiB')
    }
  })

  it('a leak is suspected, with leakyHandler among the top growing sites, before the working set reaches 70% of the limit, in 5 runs out of 5', () => {
    for (const r of container) {
      const [warn] = r.service.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('memory leak suspected'))
      expect(warn, label(r)).toBeDefined()
      expect(warn!.utilization as number, label(r)).toBeLessThan(0.7)
      const sites = (warn!.growingSites as { function: string }[]).map((s) => s.function)
      expect(sites.slice(0, 3), label(r)).toContain('leakyHandler')
      expect(warn!.msg).toContain('leakyHandler')
    }
  })

  it('the forecast made at 50% utilization is within ±30% of the measured time to the kill, in 5 runs out of 5', () => {
    for (const r of container) {
      const at50 = r.service.lines.find((l) => l.msg === 'memory' && (l.utilization as number) >= 0.5 && typeof l.secondsToLimit === 'number')
      expect(at50, label(r)).toBeDefined()
      expect(at50!.limitKind).toBe('container')
      const measured = (r.diedAt - (at50!.time as number)) / 1000
      const forecast = at50!.secondsToLimit as number
      console.info(
        `drill run ${r.index}: at ${((at50!.utilization as number) * 100).toFixed(0)}% the forecast said ${forecast} s to the limit; the kill came ${measured.toFixed(1)} s later`,
      )
      expect(forecast, label(r)).toBeGreaterThanOrEqual(measured * 0.7)
      expect(forecast, label(r)).toBeLessThanOrEqual(measured * 1.3)
    }
  })

  it('the kernel kills it (SIGKILL, exit 137) and the cgroup counts the OOM kill, in 5 runs out of 5', () => {
    expect(container).toHaveLength(RUNS)
    for (const r of container) {
      expect(r.exit, label(r)).toEqual({ code: null, signal: 'SIGKILL' })
      expect(r.oomKillsAfter, label(r)).toBe(r.oomKillsBefore + 1)
      expect(r.service.stderr).not.toMatch(/heap out of memory/)
    }
  })

  it('the critical line and the last-words files are there, in 5 runs out of 5', () => {
    for (const r of container) {
      expect(r.service.find('memory critical'), label(r)).toEqual([expect.objectContaining({ level: 50, limit: LIMIT })])
      const sync = r.service.stderrLines().filter((l) => l.lastWords === true)
      expect(sync, label(r)).toEqual([expect.objectContaining({ trigger: 'critical', cause: 'container', limit: LIMIT, name: 'oomkit' })])
      expect((sync[0]!.growingSites as string[])[0], label(r)).toContain('leakyHandler')
      const kinds = kindsIn(lastWordsDir(r))
      for (const kind of ['summary', 'report', 'node-report']) expect(kinds, label(r)).toContain(kind)
      for (const f of filesIn(lastWordsDir(r))) expect(f.mode, f.name).toBe(0o600)
    }
    // The profile is read after the synchronous files; the kernel leaves it seconds at 4 MB/s.
    expect(container.filter((r) => kindsIn(lastWordsDir(r)).includes('heap')).length).toBeGreaterThan(0)
  })

  it('started again with the same diagnosticsDir, it logs the previous crash: the container limit, and leakyHandler named', () => {
    for (const r of container) {
      expect(r.restartExit, r.restart.stderr).toEqual({ code: 0, signal: null })
      const warns = r.restart.lines.filter((l) => l.level === 40 && l.previousCrash !== undefined)
      expect(warns, label(r)).toHaveLength(1)
      expect(warns[0]!.msg).toContain('was killed at the container memory limit (OOM kill)')
      expect(warns[0]!.msg).toContain('top growing sites: leakyHandler')
      expect(crashOf(r)).toMatchObject({
        cause: 'container',
        pid: r.service.child.pid,
        limitBytes: LIMIT,
        oomKills: { recorded: r.oomKillsBefore, now: r.oomKillsAfter },
      })
      expect(crashOf(r)!.growingSites[0]).toMatchObject({ function: 'leakyHandler', file: SERVICE })
      expect(crashOf(r)!.growthBytesPerSecond).toBeGreaterThan(2e6)
    }
  })

  it.runIf(requireOrSkip(existsGo(), 'go tool pprof needs Debian golang-go (/usr/bin/go)'))(
    'go tool pprof reads the last words heap profile and shows leakyHandler on top',
    async () => {
      const r = container.find((c) => kindsIn(lastWordsDir(c)).includes('heap'))!
      const file = filesIn(lastWordsDir(r)).find((f) => f.name.endsWith('-heap.pb.gz'))!
      const scratch = tempDir('gocache')
      const env = { ...process.env, HOME: scratch, GOCACHE: join(scratch, 'gocache'), PPROF_TMPDIR: scratch, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }
      const { stdout } = await promisify(execFile)(
        '/usr/bin/go',
        ['tool', 'pprof', '-top', '-nodecount=5', '-sample_index=inuse_space', join(lastWordsDir(r), file.name)],
        { env, timeout: 60_000 },
      )
      const rows = stdout.split('\n').filter((l) => /^\s*[\d.]+[kMG]?B\s/.test(l))
      expect(
        rows.slice(0, 3).some((row) => row.includes('leakyHandler')),
        stdout,
      ).toBe(true)
    },
    90_000,
  )
})

describe.runIf(available)('the OOM drill with --max-old-space-size=64: V8 fails first', () => {
  it("'heap out of memory', SIGABRT (exit 134), no OOM kill, in 5 runs out of 5", () => {
    expect(heap).toHaveLength(RUNS)
    for (const r of heap) {
      expect(r.exit, label(r)).toEqual({ code: null, signal: 'SIGABRT' })
      expect(r.service.stderr).toMatch(/JavaScript heap out of memory/)
      expect(r.oomKillsAfter, label(r)).toBe(r.oomKillsBefore)
    }
  })

  it("Node's fatal-error report and the heap-near last words are in diagnosticsDir, in 5 runs out of 5", () => {
    for (const r of heap) {
      const reports = filesIn(lastWordsDir(r)).filter((f) => /^report\.\d{8}\.\d{6}\.\d+\.\d+\.\d+\.json$/.test(f.name))
      expect(reports, label(r)).toHaveLength(1)
      const header = (JSON.parse(readFileSync(join(lastWordsDir(r), reports[0]!.name), 'utf8')) as { header: Record<string, unknown> }).header
      expect(header).toMatchObject({ trigger: 'OOMError', processId: r.service.child.pid })
      expect(
        r.service.stderrLines().filter((l) => l.lastWords === true),
        label(r),
      ).toEqual([expect.objectContaining({ trigger: 'heap-near', cause: 'heap', oldGenerationLimit: 64 * MiB })])
      expect(kindsIn(lastWordsDir(r))).toContain('summary')
    }
  })

  it('started again, it names the heap OOM and leakyHandler', () => {
    for (const r of heap) {
      expect(r.restartExit, r.restart.stderr).toEqual({ code: 0, signal: null })
      const warns = r.restart.lines.filter((l) => l.level === 40 && l.previousCrash !== undefined)
      expect(warns, label(r)).toHaveLength(1)
      expect(warns[0]!.msg).toContain('ran out of V8 heap (JavaScript heap out of memory)')
      expect(warns[0]!.msg).toContain('leakyHandler')
      expect(crashOf(r)).toMatchObject({
        cause: 'heap',
        pid: r.service.child.pid,
        diedAtBasis: 'fatal-report',
        heapLimitBytes: 64 * MiB,
        oomKills: { recorded: r.oomKillsBefore, now: r.oomKillsBefore },
      })
      expect([...crashOf(r)!.growingSites, ...crashOf(r)!.topSites][0]).toMatchObject({ function: 'leakyHandler', file: SERVICE })
    }
  })
})

function existsGo(): boolean {
  return existsSync('/usr/bin/go')
}

import { chmodSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type LastWordsSites,
  type LastWordsSummary,
  type RunMarker,
  crashMessage,
  decideCrash,
  gatherDeadRuns,
  lastWordsFileName,
  markerName,
} from '../../src/last-words/index.js'
import { deadPid, filesIn, removeTemps, tempDir } from './helpers.js'

afterAll(removeTemps)

/** A pid no process has now: a child that ran and exited. */

const MiB = 1024 * 1024
const T0 = Date.UTC(2025, 5, 1, 12)
const self = { pid: process.pid, processStartedAt: performance.timeOrigin }
const SITE = { function: 'leakyHandler', file: '/app/server.js', line: 48, bytes: 200 * MiB, growthBytesPerSecond: 4_000_000 }

function marker(pid: number, over: Partial<RunMarker> = {}): RunMarker {
  return {
    version: 1,
    pid,
    startedAt: T0,
    processStartedAt: T0 - 300,
    cgroupPath: '/ctr',
    oomKillsAtStart: 0,
    heapSizeLimitBytes: 271 * MiB,
    oldGenerationLimitBytes: 268 * MiB,
    captures: 0,
    lastSample: {
      at: T0 + 50_000,
      workingSetBytes: 230 * MiB,
      limitBytes: 256 * MiB,
      utilization: 230 / 256,
      heapUsedBytes: 200 * MiB,
      liveAfterGcBytes: 190 * MiB,
      oomKills: 0,
    },
    points: [
      [T0 + 40_000, 190 * MiB, 160 * MiB],
      [T0 + 45_000, 210 * MiB, 175 * MiB],
      [T0 + 50_000, 230 * MiB, 190 * MiB],
    ],
    ...over,
  }
}

function summary(pid: number, trigger: 'critical' | 'heap-near', atMs: number, over: Partial<LastWordsSummary> = {}): LastWordsSummary {
  return {
    kind: 'oomkit-last-words',
    version: 1,
    at: new Date(atMs).toISOString(),
    atMs,
    trigger,
    cause: trigger === 'critical' ? 'container' : 'heap',
    run: { pid, startedAt: T0 },
    workingSetBytes: 244 * MiB,
    limitBytes: 256 * MiB,
    utilization: 244 / 256,
    oomKills: 0,
    heap: {
      usedBytes: 210 * MiB,
      liveAfterGcBytes: 205 * MiB,
      heapSizeLimitBytes: 271 * MiB,
      oldGenerationUsedBytes: 208 * MiB,
      oldGenerationLimitBytes: 268 * MiB,
    },
    growth: { workingSetBytesPerSecond: 4_200_000, liveSetBytesPerSecond: 4_000_000, source: 'history' },
    growingSites: [SITE],
    topSites: [{ function: 'leakyHandler', file: '/app/server.js', line: 48, bytes: 200 * MiB, count: 190_000 }],
    files: {
      report: lastWordsFileName(atMs, pid, 'report'),
      nodeReport: lastWordsFileName(atMs, pid, 'node-report'),
      sites: lastWordsFileName(atMs, pid, 'sites'),
      heap: lastWordsFileName(atMs, pid, 'heap'),
    },
    ...over,
  }
}

/** A directory holding what a dead run left: its marker, and optionally last words and a Node report. */
function deadRun(parts: {
  marker: RunMarker
  lastWords?: LastWordsSummary[]
  sites?: LastWordsSites
  nodeReport?: { at: number; event: string; trigger: string }
}): string {
  const dir = tempDir('crash')
  const m = parts.marker
  writeFileSync(join(dir, markerName(m.pid, m.startedAt)), JSON.stringify(m))
  const t = (m.lastSample?.at ?? m.startedAt) / 1000
  utimesSync(join(dir, markerName(m.pid, m.startedAt)), t, t)
  for (const s of parts.lastWords ?? []) {
    writeFileSync(join(dir, lastWordsFileName(s.atMs, m.pid, 'summary')), JSON.stringify(s))
    writeFileSync(join(dir, s.files.report!), '{}')
  }
  if (parts.sites !== undefined) writeFileSync(join(dir, parts.lastWords!.at(-1)!.files.sites!), JSON.stringify(parts.sites))
  if (parts.nodeReport !== undefined) {
    const r = parts.nodeReport
    const name = `report.20250601.120100.${m.pid}.0.001.json`
    writeFileSync(
      join(dir, name),
      JSON.stringify({
        header: { event: r.event, trigger: r.trigger, processId: m.pid, dumpEventTimeStamp: String(r.at), dumpEventTime: new Date(r.at).toISOString() },
      }),
    )
    chmodSync(join(dir, name), 0o644)
  }
  return dir
}

function crashOf(dir: string, now = { cgroupPath: '/ctr', oomKills: 0 as number | null }) {
  const runs = gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })
  expect(runs).toHaveLength(1)
  return decideCrash(runs[0]!, now, 0.95, dir)
}

const HEAP_OOM = { event: 'Allocation failed - JavaScript heap out of memory', trigger: 'OOMError' }

describe('what the previous run died of, from evidence', () => {
  it("Node's fatal-error report of a heap OOM says heap, whatever else there is", () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid), lastWords: [summary(pid, 'critical', T0 + 51_000)], nodeReport: { at: T0 + 52_000, ...HEAP_OOM } })
    const crash = crashOf(dir, { cgroupPath: '/ctr', oomKills: 1 })!
    expect(crash).toMatchObject({
      cause: 'heap',
      pid,
      diedAt: new Date(T0 + 52_000).toISOString(),
      diedAtBasis: 'fatal-report',
      fatalReport: { trigger: 'OOMError' },
    })
    expect(crash.evidence[0]).toMatch(/^Node's fatal-error report report\.\S+: Allocation failed - JavaScript heap out of memory \(trigger OOMError\)$/)
    expect(crash.files).toContain(join(dir, `report.20250601.120100.${pid}.0.001.json`))
    // Node writes its report with the umask's mode; the restart makes it 0600 like the rest.
    expect(filesIn(dir).find((f) => f.name.startsWith('report.'))?.mode).toBe(0o600)
  })

  it("the cgroup's oom_kill count above the one the run last recorded says container", () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid, { lastSample: { ...marker(pid).lastSample!, utilization: 0.5 } }) })
    const crash = crashOf(dir, { cgroupPath: '/ctr', oomKills: 1 })!
    expect(crash).toMatchObject({ cause: 'container', oomKills: { recorded: 0, now: 1 }, diedAtBasis: 'last-seen', lastWords: 0, utilization: 0.5 })
    expect(crash.evidence).toContain("the cgroup's oom_kill count rose from 0 to 1")
    // Without last words, the growth comes from the marker's own points (Theil–Sen).
    expect(crash.growthBytesPerSecond).toBe(Math.round((40 * MiB) / 10))
  })

  it('a count from another cgroup (a new container) or one that went back is not compared', () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid, { oomKillsAtStart: 3 }), lastWords: [summary(pid, 'heap-near', T0 + 51_000, { oomKills: 3 })] })
    const crash = crashOf(dir, { cgroupPath: '/ctr', oomKills: 0 })!
    expect(crash).toMatchObject({ cause: 'heap', oomKills: { recorded: null, now: null } })
    const dir2 = deadRun({ marker: marker(pid), lastWords: [summary(pid, 'heap-near', T0 + 51_000)] })
    expect(crashOf(dir2, { cgroupPath: '/other', oomKills: 5 })).toMatchObject({ cause: 'heap', oomKills: { recorded: null, now: null } })
  })

  it('without a fatal report or an oom_kill rise, the last words say which limit was near', () => {
    const pid = deadPid()
    const sites: LastWordsSites = {
      kind: 'oomkit-last-words-sites',
      at: '',
      growingSites: [{ ...SITE, growthBytesPerSecond: 4_100_000 }],
      windowSeconds: 30,
      topSites: [],
      trend: null,
    }
    const dir = deadRun({
      marker: marker(pid),
      lastWords: [summary(pid, 'critical', T0 + 51_000), summary(pid, 'critical', T0 + 53_000, { workingSetBytes: 250 * MiB })],
      sites,
    })
    const crash = crashOf(dir)!
    expect(crash).toMatchObject({
      cause: 'container',
      lastWords: 2,
      workingSetBytes: 250 * MiB,
      limitBytes: 256 * MiB,
      growthBytesPerSecond: 4_200_000,
      growingSites: [{ function: 'leakyHandler', growthBytesPerSecond: 4_100_000 }],
      oomKills: { recorded: 0, now: 0 },
    })
    expect(crash.evidence).toContain("the cgroup's oom_kill count stayed at 0")
    expect(crash.files.map((f) => f.slice(dir.length + 1))).toEqual([
      lastWordsFileName(T0 + 53_000, pid, 'summary'),
      lastWordsFileName(T0 + 53_000, pid, 'report'),
      lastWordsFileName(T0 + 53_000, pid, 'sites'),
    ])
    const heapDir = deadRun({ marker: marker(pid), lastWords: [summary(pid, 'heap-near', T0 + 51_000)] })
    expect(crashOf(heapDir)).toMatchObject({ cause: 'heap', heapUsedBytes: 208 * MiB, heapLimitBytes: 268 * MiB, growthBytesPerSecond: 4_000_000 })
  })

  it('with only the marker, a last utilization at or above criticalRatio says container; below it, no memory death', () => {
    const pid = deadPid()
    const high = deadRun({ marker: marker(pid, { lastSample: { ...marker(pid).lastSample!, utilization: 0.96 } }) })
    expect(crashOf(high)).toMatchObject({ cause: 'container', utilization: 0.96, diedAt: new Date(T0 + 50_000).toISOString() })
    const low = deadRun({ marker: marker(pid) })
    expect(crashOf(low)).toBeNull()
  })

  it("a fatal report of another kind is 'unknown'", () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid, { lastSample: null }), nodeReport: { at: T0 + 1000, event: 'Check failed', trigger: 'FatalError' } })
    expect(crashOf(dir)).toMatchObject({ cause: 'unknown', fatalReport: { trigger: 'FatalError' } })
  })

  it('ignores what a reused pid wrote: last words of another run, a Node report from before the process started', () => {
    const pid = deadPid()
    const other = summary(pid, 'critical', T0 - 100_000, { run: { pid, startedAt: T0 - 200_000 } })
    const dir = deadRun({ marker: marker(pid), lastWords: [other], nodeReport: { at: T0 - 90_000, ...HEAP_OOM } })
    expect(crashOf(dir)).toBeNull()
  })
})

describe('gathering dead runs', () => {
  it('claims each dead marker once and retires it; the evidence files stay', () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid), lastWords: [summary(pid, 'critical', T0 + 51_000)] })
    expect(gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })).toHaveLength(1)
    expect(gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })).toEqual([])
    expect(filesIn(dir).map((f) => f.name)).toEqual([lastWordsFileName(T0 + 51_000, pid, 'report'), lastWordsFileName(T0 + 51_000, pid, 'summary')])
  })

  it("leaves live runs' markers alone (this process's own instance, another live process)", () => {
    const dir = tempDir('live')
    const mine = marker(process.pid, { processStartedAt: performance.timeOrigin })
    writeFileSync(join(dir, markerName(mine.pid, mine.startedAt)), JSON.stringify(mine))
    expect(gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })).toEqual([])
    expect(filesIn(dir)).toHaveLength(1)
    // The same pid with an earlier process start is a previous incarnation (a restarted container is pid 1 again).
    const before = marker(process.pid, {
      startedAt: T0 - 1,
      processStartedAt: performance.timeOrigin - 3_600_000,
      lastSample: { ...marker(1).lastSample!, utilization: 0.99 },
    })
    writeFileSync(join(dir, markerName(before.pid, before.startedAt)), JSON.stringify(before))
    const runs = gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })
    expect(runs.map((r) => r.marker.startedAt)).toEqual([T0 - 1])
  })

  it('sweeps leftovers of dead processes (a half-written marker update, a claim of a restart that died) and drops garbled markers', () => {
    const pid = deadPid()
    const dir = tempDir('leftovers')
    writeFileSync(join(dir, `.run-${pid}-1.json.tmp`), '{')
    writeFileSync(join(dir, `run-7-1.json.claimed-${pid}`), '{}')
    writeFileSync(join(dir, `run-${pid}-2.json`), 'not json')
    expect(gatherDeadRuns({ dir, reportDirs: [dir], procRoot: '/proc', self })).toEqual([])
    expect(filesIn(dir)).toEqual([])
  })
})

describe('the warn line', () => {
  it('says when, of what, working set and limit, growth, the top growing sites and where the files are', () => {
    const pid = deadPid()
    const dir = deadRun({ marker: marker(pid), lastWords: [summary(pid, 'critical', T0 + 51_000)] })
    const msg = crashMessage(crashOf(dir, { cgroupPath: '/ctr', oomKills: 1 })!)
    expect(msg).toBe(
      `oomkit: the previous instance (pid ${pid}, started ${new Date(T0).toISOString()}) was killed at the container memory limit (OOM kill) after ${new Date(T0 + 51_000).toISOString()} (last seen): ` +
        `working set 244.0 MiB of 256.0 MiB, growing 4.20 MB/s; top growing sites: leakyHandler (/app/server.js:48) +4.00 MB/s; files in ${dir}`,
    )
    const heap = deadRun({
      marker: marker(pid),
      lastWords: [summary(pid, 'heap-near', T0 + 51_000, { growingSites: [] })],
      nodeReport: { at: T0 + 52_000, ...HEAP_OOM },
    })
    expect(crashMessage(crashOf(heap)!)).toMatch(
      /ran out of V8 heap \(JavaScript heap out of memory\) at \S+: V8 old generation 208\.0 MiB of 268\.0 MiB, working set 244\.0 MiB of 256\.0 MiB, growing 4\.00 MB\/s; top allocation sites: leakyHandler \(\/app\/server\.js:48\) 200\.0 MiB; files in /,
    )
  })
})
